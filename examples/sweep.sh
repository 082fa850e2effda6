#!/usr/bin/env bash
# Sweeps over the assignment's commands, for several seeds, on one machine or on a Slurm cluster.
# The list of runs always comes from the question binaries (`build/qN --print_commands --seeds`).
#
#   examples/sweep.sh commands [options] [-- FLAGS]     print the list (q1..q6 order; --order cost: longest first)
#   examples/sweep.sh local --jobs N [--dry_run] [options] [-- FLAGS]
#       run the list with GNU parallel, N runs at a time, each with OMP_NUM_THREADS = cores / N
#       (or the OMP_NUM_THREADS the caller set),
#       longest first; runs already complete are skipped and runs stopped part way continue from
#       their checkpoints (the binaries' --skip_if_complete; every run gets --save_params);
#       a progress line (--eta on a terminal) and a line per finished run, and under DATA/sweep/<time>/: commands.txt, joblog.tsv (GNU
#       parallel's job log) and one log per run, <exp_name>_seed<S>.log
#       --dry_run: print the plan's line (runs, jobs at a time, threads, cores) and start nothing
#   examples/sweep.sh slurm [--cpus C] [--throttle T] [--wait] [options] [-- FLAGS]
#       submit the list as one Slurm job array (examples/sweep.sbatch), one task per run, longest
#       first, at most T tasks at once, C cpus (= OMP_NUM_THREADS) each; logs in
#       DATA/sweep/slurm-<time>/task-<i>.log (line i of commands.txt there). --wait: block until
#       the array is done (sbatch --wait); its exit status says whether every task succeeded.
#
# options: --seeds "1 2 3" (or 1,2,3; default 1)   --questions "q1 q2 q3 q4 q5 q6"   --build DIR (build)
#          --commands FILE: run the commands listed in FILE (one per line, e.g. an edited output of
#          `commands`) instead of the question binaries' list; --seeds and --questions then do nothing
# FLAGS are appended to every command (e.g. --data_dir /scratch/data, or tiny settings for a test);
# DATA is the --data_dir among them, else data. Relative paths are relative to the repository. Environment: SBATCH_OPTS, extra options for sbatch
# (e.g. "--partition=cpu --time=04:00:00").
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-}
if [[ $mode == _run ]]; then  # one job of a local sweep: _run LOG NAME THREADS COMMAND...
    log=$2 name=$3
    export OMP_NUM_THREADS=$4
    shift 4
    status=0
    "$@" --skip_if_complete --save_params >"$log" 2>&1 || status=$?
    note=""
    grep -q '^skip: ' "$log" && note=", skipped: already complete"
    grep -q '^resume: ' "$log" && note=", resumed from its checkpoint"
    grep -q ': busy: ' "$log" && note=", not run: another process is writing its run directory"
    echo "sweep: $(date +%H:%M:%S) finished $name (exit $status$note)"
    exit "$status"
fi
[[ $mode == commands || $mode == local || $mode == slurm ]] || {
    sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
    exit 2
}
shift
cd "$ROOT"  # the commands name build/qN and data/ relative to the repository
seeds=1 questions="q1 q2 q3 q4 q5 q6" build=build order=list jobs='' cpus=1 throttle=8 wait=0 list_file='' dry_run=0
extra=()
while (($#)); do
    case $1 in
    --seeds) seeds=$2; shift 2 ;;
    --questions) questions=$2; shift 2 ;;
    --build) build=$2; shift 2 ;;
    --order) order=$2; shift 2 ;;
    --commands) list_file=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --cpus) cpus=$2; shift 2 ;;
    --throttle) throttle=$2; shift 2 ;;
    --wait) wait=1; shift ;;
    --dry_run) dry_run=1; shift ;;
    --) shift; extra=("$@"); break ;;
    *) echo "sweep.sh: unknown option '$1'" >&2; exit 2 ;;
    esac
done
seeds=${seeds//[ ]/,}
data=data
for ((i = 0; i < ${#extra[@]}; ++i)); do
    [[ ${extra[$i]} == --data_dir && $((i + 1)) -lt ${#extra[@]} ]] && data=${extra[$((i + 1))]}
    [[ ${extra[$i]} == --data_dir=* ]] && data=${extra[$i]#--data_dir=}
done

# Estimated minutes of one run on 1 thread (measured on the 2-core machines of the README; q5
# CEM-4 about 38 min per planning iteration on the AMD EPYC one), by exp_name; the list is run
# longest first so that the last runs to start are short ones.
# Unknown exp_names cost 0: they go last, in list order.
COSTS="q5_cheetah_cem_4 160 q3_cheetah 124 q3_reacher 58 q4_reacher_horizon30 45 q5_cheetah_cem_2 40
q5_cheetah_random 21 q4_reacher_ensemble5 20 q4_reacher_horizon15 18 q3_obstacles 13
q4_reacher_ensemble3 12 q4_reacher_numseq1000 12 q6_cheetah_rlen10 8 q6_cheetah_rlen1 8
q4_reacher_horizon5 6 q4_reacher_ensemble1 4 q6_cheetah_rlenl0 3 q4_reacher_numseq100 2
q2_obstacles_singleiteration 0.3 q1_cheetah_n500_arch2x250 0.07 q1_cheetah_n500_arch1x32 0.01
q1_cheetah_n5_arch2x250 0.005"

# The command list, in question order.
list_commands() {
    local q
    if [[ -n $list_file ]]; then
        [[ -r $list_file ]] || { echo "sweep.sh: cannot read the command list '$list_file'" >&2; exit 1; }
        grep -v '^[[:space:]]*\(#\|$\)' "$list_file" |
            awk -v x="${extra[*]:-}" '{ print (x == "" ? $0 : $0 " " x) }' || true
        return
    fi
    for q in $questions; do
        "$build/$q" --print_commands --seeds "$seeds" ${extra[@]+"${extra[@]}"}
    done
}
# stdin: commands; stdout: "minutes<TAB>command", longest first (stable: ties keep list order).
with_cost() {
    awk -v costs="$COSTS" 'BEGIN { n = split(costs, c, /[ \n]+/); for (i = 1; i < n; i += 2) cost[c[i]] = c[i + 1] }
        { e = ""; for (i = 1; i < NF; ++i) if ($i == "--exp_name") e = $(i + 1)
          printf "%s\t%s\n", (e in cost ? cost[e] : 0), $0 }' | sort -s -t $'\t' -k1,1gr
}
# "<exp_name>_seed<S>" of a command line (the log file name).
run_name() {
    awk '{ e = "run"; s = "?"; for (i = 1; i < NF; ++i) { if ($i == "--exp_name") e = $(i + 1); if ($i == "--seed") s = $(i + 1) }
           print e "_seed" s }' <<<"$1"
}

cmds=$(list_commands)
[[ -n $cmds ]] || { echo "sweep.sh: no commands" >&2; exit 1; }
ordered=$(with_cost <<<"$cmds")
hours=$(awk -F'\t' '{ s += $1 } END { printf "%.1f", s / 60 }' <<<"$ordered")
count=$(wc -l <<<"$cmds")
what="seeds $seeds"
[[ -n $list_file ]] && what="from $list_file"

case $mode in
commands)
    if [[ $order == cost ]]; then cut -f2- <<<"$ordered"; else printf '%s\n' "$cmds"; fi
    ;;
local)
    [[ $jobs =~ ^[1-9][0-9]*$ ]] || { echo "sweep.sh local: --jobs N (N >= 1) is required" >&2; exit 2; }
    # nproc answers OMP_NUM_THREADS when it is set: the machine's cores are asked without it.
    cores=$(env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc)
    if [[ ${OMP_NUM_THREADS-} =~ ^[1-9][0-9]*$ ]]; then
        threads=$OMP_NUM_THREADS  # the caller's choice
    else
        threads=$((cores / jobs))
        ((threads >= 1)) || threads=1
    fi
    if ((dry_run)); then
        echo "sweep: $count runs ($what), $jobs at a time with OMP_NUM_THREADS=$threads ($cores cores);" \
            "about $hours h of 1-thread runs in all, longest first (dry run: nothing started)"
        exit 0
    fi
    command -v parallel >/dev/null || { echo "sweep.sh: GNU parallel not found (apt-get install parallel)" >&2; exit 1; }
    dir=$data/sweep/$(date +%Y-%m-%d_%H-%M-%S)
    [[ -e $dir ]] && dir=${dir}_$$
    mkdir -p "$dir"
    cut -f2- <<<"$ordered" >"$dir/commands.txt"
    # Each job: `sweep.sh _run LOG NAME THREADS COMMAND...` (below): the run with its output in
    # LOG, then one line "finished ..." (a sweep whose output goes to a file shows its progress).
    while IFS= read -r line; do
        name=$(run_name "$line")
        printf '%q _run %q %q %d %s\n' "$ROOT/examples/sweep.sh" "$dir/$name.log" "$name" "$threads" "$line"
    done <"$dir/commands.txt" >"$dir/jobs.txt"
    echo "sweep: $count runs ($what), $jobs at a time with OMP_NUM_THREADS=$threads ($cores cores);" \
        "about $hours h of 1-thread runs in all, longest first; complete runs are skipped"
    echo "sweep: logs and job log in $dir/"
    status=0
    # progress: --eta on a terminal; SWEEP_PROGRESS=--bar (or "") to choose
    progress=${SWEEP_PROGRESS-}
    if [[ -z ${SWEEP_PROGRESS+set} && -t 2 ]]; then progress=--eta; fi
    # shellcheck disable=SC2086
    parallel --will-cite --jobs "$jobs" --joblog "$dir/joblog.tsv" $progress :::: "$dir/jobs.txt" || status=$?
    skipped=$(cat "$dir"/*.log 2>/dev/null | grep -c '^skip: ' || true)
    echo "sweep: done: $count runs, $skipped skipped as complete, $status failed (see $dir/joblog.tsv and the logs there)"
    command -v python3 >/dev/null && python3 "$ROOT/plot/aggregate.py" sweep "$dir/joblog.tsv" --cores "$cores" | sed -n 1p  # sed reads to the end: head would close the pipe under python (BrokenPipeError)
    exit "$status"
    ;;
slurm)
    command -v sbatch >/dev/null || { echo "sweep.sh: sbatch not found (is this a Slurm cluster?)" >&2; exit 1; }
    dir=$data/sweep/slurm-$(date +%Y-%m-%d_%H-%M-%S)
    [[ -e $dir ]] && dir=${dir}_$$
    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    cut -f2- <<<"$ordered" >"$dir/commands.txt"
    args=(--parsable --job-name=mbrl-sweep --chdir="$ROOT" --array="1-$count%$throttle" --cpus-per-task="$cpus"
          --output="$dir/task-%a.log")
    ((wait)) && args+=(--wait)
    echo "sweep: submitting $count runs ($what) as a job array, at most $throttle at once, $cpus cpu(s) each;" \
        "about $hours h of 1-thread runs in all, longest first"
    echo "sweep: commands and task logs in $dir/ (task i runs line i of commands.txt)"
    printf 'sweep: job id '
    # shellcheck disable=SC2086
    sbatch "${args[@]}" ${SBATCH_OPTS:-} "$ROOT/examples/sweep.sbatch" "$dir/commands.txt"
    ;;
esac
