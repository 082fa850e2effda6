#!/usr/bin/env bash
# Draw every figure of CS285 HW4 Problems 1-6 from the CSV files our runs write.
#
#   plot/plot.sh [DATA_DIR] [OUT_DIR]      (defaults: data  data/figures)
#
# Run directories are DATA_DIR/hw4_<exp_name>_<env_name>_<dd-mm-YYYY_HH-MM-SS>[_k]/. The Q2-Q6
# figures draw, per exp_name, the mean over seeds (seed read from flags.csv; per seed the newest
# complete run, else the newest) with a band from the lowest to the highest seed (min-max) when
# there are several seeds, and "n=<seeds>" in the legend (plot/aggregate.py series). A single
# seed draws as before: one line (Q3: with +-std-over-episodes bands). The Q1 figures of one
# run show the lowest seed's, q1_losses.png the mean over seeds of each exp_name. Figures whose runs are missing are skipped with
# a one-line note; runs still in progress are plotted with whatever rows they have.
set -euo pipefail

DATA_DIR=${1:-data}
OUT_DIR=${2:-data/figures}
PLOT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PYTHON=${PYTHON:-python3}

command -v gnuplot >/dev/null || { echo "plot.sh: gnuplot not found" >&2; exit 1; }
command -v "$PYTHON" >/dev/null || { echo "plot.sh: $PYTHON not found" >&2; exit 1; }
[[ -d $DATA_DIR ]] || { echo "plot.sh: no data directory '$DATA_DIR'" >&2; exit 1; }
mkdir -p "$OUT_DIR"
[[ -z ${PLOT_CHECK_DIR:-} ]] || mkdir -p "$PLOT_CHECK_DIR"
AGG_DIR=$(mktemp -d)
trap 'rm -rf "$AGG_DIR"' EXIT

written=()

# Newest run directory for an exact exp_name (empty if none). The time stamp dd-mm-YYYY_HH-MM-SS
# is turned into YYYYmmddHHMMSS for comparison; ties go to the most recently modified directory.
find_run() {
    local exp=$1 best='' bestkey='' d name rest key
    for d in "$DATA_DIR"/hw4_"$exp"_*/; do
        [[ -d $d ]] || continue
        d=${d%/}
        name=${d##*/}
        rest=${name#"hw4_${exp}_"}
        # rest must be exactly <env_name>_<stamp>; env names (e.g. cheetah-cs285-v0) have no '_'
        # (a suffix _2, _3, ... marks runs started in the same second)
        [[ $rest =~ ^[^_]+_([0-9]{2})-([0-9]{2})-([0-9]{4})_([0-9]{2})-([0-9]{2})-([0-9]{2})(_([0-9]+))?$ ]] || continue
        key="${BASH_REMATCH[3]}${BASH_REMATCH[2]}${BASH_REMATCH[1]}${BASH_REMATCH[4]}${BASH_REMATCH[5]}${BASH_REMATCH[6]}$(printf %04d "${BASH_REMATCH[8]:-1}")"
        if [[ -z $bestkey || $key > $bestkey || ( $key == "$bestkey" && $d -nt $best ) ]]; then
            best=$d
            bestkey=$key
        fi
    done
    printf '%s' "$best"
}

# True if the CSV file exists and has at least one data row below the header.
has_rows() {
    [[ -f $1 ]] && awk 'NR == 2 { ok = 1; exit } END { exit !ok }' "$1"
}

# A string as a gnuplot single-quoted literal ('' stands for a quote inside).
q() {
    printf "'%s'" "${1//\'/\'\'}"
}

# run_gp SCRIPT OUT_PNG GNUPLOT_ASSIGNMENTS: draws one figure; a failure is reported, not fatal.
# With PLOT_CHECK_DIR set, the script also writes the figure's settings there (check=PREFIX:
# PREFIX.txt, or PREFIX.panel<k>.txt per panel; tests/plot_test.sh reads them).
run_gp() {
    local script=$1 out=$2 vars=$3 name
    name=${out##*/}
    [[ -z ${PLOT_CHECK_DIR:-} ]] || vars+="; check=$(q "$PLOT_CHECK_DIR/${name%.png}")"
    if nice -n 10 gnuplot -e "out=$(q "$out"); $vars" "$PLOT_DIR/$script" && [[ -s $out ]]; then
        written+=("$out")
    else
        echo "warning: gnuplot failed for $out" >&2
        rm -f "$out"
    fi
}

# The mean over seeds of one exp_name's metrics.csv, into $AGG_DIR/<exp>.csv (plot/aggregate.py);
# sets SEEDS_N (0: no run with metrics), SEEDS_NOTE (", k in progress" when k of them are
# incomplete; empty otherwise) and AGG (the file).
aggregate() {
    local counts partial
    AGG="$AGG_DIR/$1.csv"
    counts=$("$PYTHON" "$PLOT_DIR/aggregate.py" series "$DATA_DIR" "$1" "$AGG")
    read -r SEEDS_N partial <<<"$counts"
    has_rows "$AGG" || SEEDS_N=0
    SEEDS_NOTE=""
    if ((SEEDS_N > 0 && partial > 0)); then SEEDS_NOTE=", $partial in progress"; fi
}

# The iterations an aggregated CSV holds, as "first-last" (its first column is Iteration).
iterations() {
    awk -F, 'NR > 1 { if (lo == "" || $1 < lo) lo = $1; if (hi == "" || $1 > hi) hi = $1 }
             END { print (lo == hi ? lo : lo "-" hi) }' "$1"
}

# For metrics.csv over seeds: RUNS are the aggregated files, LABELS get " (n=<seeds>)", and
# ", iterations a-b" in every label when the runs do not all hold the same iterations (a figure
# compares them over different spans); BAND=1 if any exp_name has several seeds.
collect_seeds() {
    local exp label i
    local -a spans=()
    RUNS=()
    EXPS=()
    LABELS=()
    MISSING=()
    BAND=0
    while (($# >= 2)); do
        exp=$1 label=$2
        shift 2
        aggregate "$exp"
        if ((SEEDS_N > 0)); then
            RUNS+=("$AGG")
            EXPS+=("$exp")
            LABELS+=("$label (n=$SEEDS_N$SEEDS_NOTE")
            spans+=("$(iterations "$AGG")")
            if ((SEEDS_N > 1)); then BAND=1; fi
        else
            MISSING+=("$exp")
        fi
    done
    for i in "${!LABELS[@]}"; do
        if [[ $(printf '%s\n' "${spans[@]}" | sort -u | wc -l) -gt 1 ]]; then
            LABELS[i]+=", iterations ${spans[i]}"
        fi
        LABELS[i]+=")"
    done
}
# gnuplot assignments n=..; f1=..; t1=..; band=.. for collect_seeds
seed_vars() {
    local i vars
    vars="n=${#RUNS[@]}; band=$BAND"
    for i in "${!RUNS[@]}"; do
        vars+="; f$((i + 1))=$(q "${RUNS[$i]}"); t$((i + 1))=$(q "${LABELS[$i]}")"
    done
    printf '%s' "$vars"
}

# gnuplot assignments n=..; f1=..; t1=..; ... for the files RUNS labelled LABELS
multi_vars() {
    local i vars
    vars="n=${#RUNS[@]}"
    for i in "${!RUNS[@]}"; do
        vars+="; f$((i + 1))=$(q "${RUNS[$i]}"); t$((i + 1))=$(q "${LABELS[$i]}")"
    done
    printf '%s' "$vars"
}

# draw_run EXP DIR KIND VARS: the figure <EXP>_<KIND>.png of one run, by KIND.gp from DIR/KIND.csv
# with the gnuplot assignments VARS; if that file has no rows, a note in MISSING instead.
draw_run() {
    if [[ -n $2 ]] && has_rows "$2/$3.csv"; then
        run_gp "$3.gp" "$OUT_DIR/${1}_$3.png" "$4"
    else
        MISSING+=("$1 $3")
    fi
}

# ---------------------------------------------------------------- Q1: predictions and losses
# The figures of one run show the lowest seed's run (aggregate.py first); q1_losses.png draws each
# exp_name's mean over seeds (aggregate.py losses). Gnuplot reads the column "Training Loss" of
# either file.
RUNS=()
LABELS=()
MISSING=()
for exp_label in "q1_cheetah_n500_arch1x32:n500 arch1x32" "q1_cheetah_n5_arch2x250:n5 arch2x250" \
    "q1_cheetah_n500_arch2x250:n500 arch2x250"; do
    exp=${exp_label%%:*} label=${exp_label#*:}
    d='' seed=''
    IFS=$'\t' read -r d seed < <("$PYTHON" "$PLOT_DIR/aggregate.py" first "$DATA_DIR" "$exp") || true
    ref=""
    [[ $exp == q1_cheetah_n500_arch1x32 ]] && ref="; ref=0.2; ref_label='assignment: below 0.2 by step 500'"
    draw_run "$exp" "$d" predictions "file=$(q "$d/predictions.csv"); name=$(q "$exp, seed $seed")"
    draw_run "$exp" "$d" losses \
        "n=1; f1=$(q "$d/losses.csv"); t1=$(q "$exp, seed $seed"); ttl='Q1: model training loss (iteration 0)'$ref"
    agg="$AGG_DIR/${exp}_losses.csv"
    read -r n partial < <("$PYTHON" "$PLOT_DIR/aggregate.py" losses "$DATA_DIR" "$exp" "$agg")
    if ((n > 0)) && has_rows "$agg"; then
        RUNS+=("$agg")
        if ((n == 1)); then label+=", seed $seed"; else label+=", mean of n=$n seeds"; fi
        ((partial == 0)) || label+=", $partial in progress"
        LABELS+=("$label")
    fi
done
# A run whose every loss equals another's at the same step (q1's 5-step run and the 500-step one
# of the same architecture and seeds) is drawn under it: its label says so.
short_labels=("${LABELS[@]+"${LABELS[@]}"}")
for i in "${!RUNS[@]}"; do
    for j in "${!RUNS[@]}"; do
        ((i != j)) || continue
        # all of i's rows (Training Loss is the third column) at the start of j's, and j longer
        rows=$(awk -F, 'NR == FNR { if (FNR > 1) { a[FNR] = $3; k++ } next }
                        FNR > 1 && FNR in a { if (a[FNR] != $3) d = 1; m++ }
                        FNR > 1 { total++ }
                        END { if (k > 0 && m == k && !d && total > k) print k }' "${RUNS[$i]}" "${RUNS[$j]}")
        if [[ -n $rows ]]; then
            LABELS[i]+=" = ${short_labels[$j]%%,*}'s first $rows steps"
            break
        fi
    done
done
if ((${#RUNS[@]} >= 2)); then
    run_gp losses.gp "$OUT_DIR/q1_losses.png" \
        "$(multi_vars); ttl='Q1: model training loss, cheetah (steps, layers x size)'; ref=0.2; ref_label='assignment: n500 arch1x32 below 0.2 by step 500'"
else
    echo "skip q1_losses.png: needs at least 2 q1 runs with losses.csv"
fi
((${#MISSING[@]} == 0)) || echo "skip Q1 figures: ${MISSING[*]} (no run, or no rows in its file)"

# ---------------------------------------------------------------- Q2: single iteration
aggregate q2_obstacles_singleiteration
if ((SEEDS_N > 0)); then
    run_gp q2.gp "$OUT_DIR/q2_returns.png" "file=$(q "$AGG"); nseeds=$SEEDS_N; seeds_note=$(q "$SEEDS_NOTE")"
else
    echo "skip q2_returns.png: no q2_obstacles_singleiteration run with metrics"
fi

# ---------------------------------------------------------------- Q3: one figure per env
for spec in "obstacles -25 -20" "reacher -300 -250" "cheetah 250 350"; do
    read -r env lo hi <<<"$spec"
    aggregate "q3_$env"
    if ((SEEDS_N > 0)); then
        run_gp q3.gp "$OUT_DIR/q3_$env.png" "file=$(q "$AGG"); nseeds=$SEEDS_N; seeds_note=$(q "$SEEDS_NOTE"); env='$env'; lo=$lo; hi=$hi"
    else
        echo "skip q3_$env.png: no q3_$env run with metrics"
    fi
done

# ---------------------------------------------------------------- Q4: hyperparameter sweeps on reacher
q4_figure() { # name title exp label ...
    local name=$1 title=$2
    shift 2
    collect_seeds "$@"
    if ((${#RUNS[@]} == 0)); then
        echo "skip q4_$name.png: none of its runs exist"
        return
    fi
    ((${#MISSING[@]} == 0)) || echo "note q4_$name.png: missing ${MISSING[*]}"
    run_gp compare.gp "$OUT_DIR/q4_$name.png" \
        "$(seed_vars); ttl=$(q "$title"); ylab='Eval_AverageReturn'"
}
q4_figure ensemble "Q4 (reacher): effect of ensemble size" \
    q4_reacher_ensemble1 "ensemble size 1" q4_reacher_ensemble3 "ensemble size 3" q4_reacher_ensemble5 "ensemble size 5"
q4_figure numseq "Q4 (reacher): effect of the number of candidate action sequences" \
    q4_reacher_numseq100 "100 action sequences" q4_reacher_numseq1000 "1000 action sequences"
q4_figure horizon "Q4 (reacher): effect of the planning horizon" \
    q4_reacher_horizon5 "horizon 5" q4_reacher_horizon15 "horizon 15" q4_reacher_horizon30 "horizon 30"

# ---------------------------------------------------------------- Q5: random shooting vs CEM
collect_seeds \
    q5_cheetah_random "random shooting" q5_cheetah_cem_2 "CEM, 2 iterations" q5_cheetah_cem_4 "CEM, 4 iterations"
if ((${#RUNS[@]} > 0)); then
    ((${#MISSING[@]} == 0)) || echo "note q5_cem.png: missing ${MISSING[*]}"
    run_gp compare.gp "$OUT_DIR/q5_cem.png" \
        "$(seed_vars); ttl='Q5 (cheetah): random shooting vs CEM'; ylab='Eval_AverageReturn'; expect=800; expect_label='assignment: about 800 (CEM)'"
else
    echo "skip q5_cem.png: none of its runs exist"
fi

# ---------------------------------------------------------------- Q6: SAC vs Dyna vs MBPO
collect_seeds \
    q6_cheetah_rlenl0 "SAC (rollout length 0)" q6_cheetah_rlen1 "Dyna (rollout length 1)" \
    q6_cheetah_rlen10 "MBPO (rollout length 10)"
if ((${#RUNS[@]} > 0)); then
    ((${#MISSING[@]} == 0)) || echo "note q6_mbpo.png: missing ${MISSING[*]}"
    run_gp compare.gp "$OUT_DIR/q6_mbpo.png" \
        "$(seed_vars); ttl='Q6 (cheetah): model-free SAC, Dyna and MBPO'; ylab='Eval_AverageReturn'; expect=1000; expect_label='assignment: about 1000 (rollout length 10)'; yfrom=1"
else
    echo "skip q6_mbpo.png: none of its runs exist"
fi

# ---------------------------------------------------------------- beyond the homework
# Each figure: the homework's run beside the same settings with the true simulator or with
# probabilistic members; drawn when at least one of the latter exists.
beyond_figure() { # name title baseline-exp baseline-label exp label ...
    local name=$1 title=$2
    shift 2
    collect_seeds "$@"
    if ((${#RUNS[@]} == 0)) || [[ ${EXPS[-1]} == "$1" ]]; then
        echo "skip $name.png: no run beside the homework's $1"
        return
    fi
    ((${#MISSING[@]} == 0)) || echo "note $name.png: missing ${MISSING[*]}"
    run_gp compare.gp "$OUT_DIR/$name.png" "$(seed_vars); ttl=$(q "$title"); ylab='Eval_AverageReturn'"
}
beyond_figure beyond_obstacles_true "Obstacles (q3 settings): learned model vs the true simulator" \
    q3_obstacles "learned model" q3_obstacles_true "true simulator"
beyond_figure beyond_cheetah_true "Cheetah (q3 settings): learned model vs the true simulator" \
    q3_cheetah "learned model" q3_cheetah_true "true simulator"
beyond_figure beyond_cheetah_pets "Cheetah (q3 settings): deterministic vs probabilistic members" \
    q3_cheetah "deterministic, expectation" q3_cheetah_pets_tsinf "probabilistic, TS-inf" \
    q3_cheetah_pets_ts1 "probabilistic, TS1"
beyond_figure beyond_q6_prob "Cheetah MBPO (rollout length 10): deterministic vs probabilistic members" \
    q6_cheetah_rlen10 "deterministic, ensemble mean" q6_cheetah_rlen10_prob "probabilistic, one member per step"

# ---------------------------------------------------------------- model diagnostics: one per exp_name
# Every exp_name with a run that logged the Model_* columns gets <exp>_model.png, drawn from its
# lowest seed whose run has values in them (aggregate.py first ... Model_OneStepError; the seeds
# below it, whose runs predate the columns, are named in the title). The exp_names without such
# a run are named in a one-line note per reason.
model_runs=0
no_column=()
no_values=()
declare -A seen_exp=()
# a flag's value in a run's flags.csv
flag() {
    awk -F, -v k="$2" '$1 == k { print $2; exit }' "$1/flags.csv"
}
for d in "$DATA_DIR"/hw4_*/; do
    [[ -d $d ]] || continue
    d=${d%/}
    name=${d##*/}
    [[ $name =~ ^hw4_(.+)_[^_]+_[0-9]{2}-[0-9]{2}-[0-9]{4}_[0-9]{2}-[0-9]{2}-[0-9]{2}(_[0-9]+)?$ ]] || continue
    exp=${BASH_REMATCH[1]}
    [[ -z ${seen_exp[$exp]:-} ]] || continue
    seen_exp[$exp]=1
    run='' seed='' passed=''
    IFS=$'\t' read -r run seed passed < <("$PYTHON" "$PLOT_DIR/aggregate.py" first "$DATA_DIR" "$exp" Model_OneStepError) || true
    [[ -n $run ]] || continue
    if [[ $run == - ]]; then
        if [[ $passed == "no column" ]]; then no_column+=("$exp"); else no_values+=("$exp"); fi
        continue
    fi
    [[ $passed != - ]] || passed=''
    members=$(flag "$run" ensemble_size)
    nll=0
    [[ $(flag "$run" model_type) != probabilistic ]] || nll=1
    run_gp model.gp "$OUT_DIR/${exp}_model.png" \
        "file=$(q "$run/metrics.csv"); name=$(q "$exp"); seed=$(q "$seed"); members=${members:-0}; nll=$nll; passed=$(q "$passed")"
    model_runs=$((model_runs + 1))
done
((${#no_column[@]} == 0)) ||
    echo "skip <exp>_model.png for ${no_column[*]}: their runs' metrics.csv have no Model_* columns (written before the diagnostics)"
((${#no_values[@]} == 0)) ||
    echo "skip <exp>_model.png for ${no_values[*]}: no evaluated iteration (the Model_* cells are empty)"
((model_runs > 0)) || echo "skip <exp>_model.png: no run with model diagnostics (Model_* columns)"

# ---------------------------------------------------------------- summary
echo "wrote ${#written[@]} figure(s) to $OUT_DIR:"
for f in "${written[@]+"${written[@]}"}"; do
    echo "  $f"
done
