# The obstacles env's "videos" (--video_log_freq, examples/video.hpp): the 2 rollouts of the
# collection policy (train_rollouts) and the 2 of the evaluation policy (eval_rollouts) of one
# iteration, drawn among the obstacles, inside the field, with the goal's disc; each path starts
# at a hollow circle and ends at a filled one.
#
# usage: gnuplot -e "run='data/hw4_q3_obstacles_..._<time>'; itr=0" plot/paths.gp
#   reads RUN/train_rollouts_itr<itr>.csv, RUN/eval_rollouts_itr<itr>.csv (rollout,step,x,y,reward)
#   and RUN/obstacles.csv (shape,x_min,y_min,x_max,y_max: the field, the obstacles, the goal's
#   bounds, written by the run from envs/obstacles.hpp); writes out (default RUN/paths_itr<itr>.png).
# A panel whose CSV is missing is left out.

if (!exists("run")) { print "paths.gp: set run='<run directory>' (and itr=<iteration>)"; exit }
if (!exists("itr")) { itr = 0 }
if (!exists("out")) { out = sprintf("%s/paths_itr%d.png", run, itr) }

set datafile separator ','
scene = run . "/obstacles.csv"
tags = "train_rollouts eval_rollouts"
file_of(k) = sprintf("%s/%s_itr%d.csv", run, word(tags, k), itr)
exists_file(f) = system("test -s '" . f . "' && echo 1 || echo 0") + 0
if (!exists_file(scene)) { print sprintf("paths.gp: no %s", scene); exit }
n = exists_file(file_of(1)) + exists_file(file_of(2))
if (n == 0) { print sprintf("paths.gp: no %s or %s in %s", word(tags, 1), word(tags, 2), run); exit }

# the last step of each rollout (before any range is set: stats keeps to the ranges)
array last[4]
do for [k = 1 : 2] {
    do for [r = 0 : 1] {
        last[2 * (k - 1) + r + 1] = NaN
        if (exists_file(file_of(k))) {
            stats file_of(k) using (column(1) == r ? column(2) : NaN) nooutput
            last[2 * (k - 1) + r + 1] = STATS_max
        }
    }
}

set terminal pngcairo noenhanced size 500 * n + 60, 620 font "Sans,11"
set output out
set multiplot layout 1, n title sprintf("obstacles: 2 rollouts of each policy, iteration %d", itr) font ",13"
set size ratio -1
set xrange [-1.05 : 1.05]
set yrange [-1.05 : 1.05]
set xlabel "x"
set ylabel "y"
set key below horizontal maxrows 2
set style fill solid 0.6 noborder

shape(s) = strcol(1) eq s
px(r) = column(1) == r ? column(3) : NaN  # rollout r's x, else NaN (gnuplot breaks the line there)

do for [k = 1 : 2] {
    f = file_of(k)
    if (exists_file(f)) {
        set title (k == 1 ? "collection policy (train_rollouts)" : "evaluation policy (eval_rollouts)")
        plot scene using (shape("field") ? ($2 + $4) / 2 : NaN):(($3 + $5) / 2):(($4 - $2) / 2):(($5 - $3) / 2) \
                 with boxxyerror fs empty border rgb "black" lc rgb "black" lw 1.5 title "field", \
             scene using (shape("obstacle") ? ($2 + $4) / 2 : NaN):(($3 + $5) / 2):(($4 - $2) / 2):(($5 - $3) / 2) \
                 with boxxyerror lc rgb "#777777" title "obstacles", \
             scene using (shape("goal") ? ($2 + $4) / 2 : NaN):(($3 + $5) / 2):(($4 - $2) / 2) \
                 with circles lc rgb "#2ca02c" title "goal (reached within 0.1)", \
             for [r = 0 : 1] f using (px(r)):4 with lines lw 2 lc r + 1 title sprintf("rollout %d", r), \
             for [r = 0 : 1] f using (column(2) == 0 ? px(r) : NaN):4 with points pt 6 ps 1.8 lc r + 1 notitle, \
             for [r = 0 : 1] f using (column(2) == last[2 * (k - 1) + r + 1] ? px(r) : NaN):4 with points pt 7 ps 1.8 lc r + 1 notitle
    }
}
unset multiplot
