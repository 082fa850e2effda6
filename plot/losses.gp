# Model training loss (iteration 0) vs. training step, for one or more runs.
# Used for the per-run Q1 loss figures (itr_0_losses.png equivalent) and the Q1 comparison.
#
# usage: gnuplot -e "n=2; f1='RUN1/losses.csv'; t1='label 1'; f2='RUN2/losses.csv'; t2='label 2'; \
#                    out='q1_losses.png'; ttl='Q1: training loss'" plot/losses.gp
# optional: logy=0 for a linear y axis (default: log scale)
#           ref=0.2; ref_label='...'  dashed horizontal reference line
# input columns: step,Training Loss

if (!exists("n"))    { n = 1 }
if (!exists("f1"))   { print "losses.gp: set f1='.../losses.csv' (and n, f2, ...)"; exit }
if (!exists("out"))  { out = "losses.png" }
if (!exists("ttl"))  { ttl = "Model training loss (iteration 0)" }
if (!exists("logy")) { logy = 1 }
do for [i = 1:n] { if (!exists("t" . i)) { eval sprintf("t%d = 'Training Loss (run %d)'", i, i) } }

set datafile separator ','

# final loss of each run (for the legend) and a point interval so that short runs
# (e.g. 5 steps) stay visible as markers while long ones get ~15 markers
array last[n]
array pint[n]
do for [i = 1:n] {
    lastv = NaN   # last valid loss value, remembered while stats reads the file
    stats value("f" . i) using (v = column("Training Loss"), (v == v ? lastv = v : 0), v) nooutput name "L"
    pint[i] = (L_records > 15) ? int(L_records / 15) : 1
    last[i] = lastv
}

set terminal pngcairo noenhanced size 900, 600 font "Sans,12"
set output out

set title ttl font ",14"
set xlabel "model training step"
set ylabel "training loss (ensemble-mean MSE)"
set grid lc rgb "#dddddd"
# log axis: label 1-2-3-5 style values so that ranges narrower than a decade still get numbers
if (logy) { set logscale y; set format y "%g"; \
            set ytics (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, \
                       0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100, 200, 500, 1000) }
set autoscale xfix
set autoscale yfix
set offsets graph 0.01, graph 0.01, graph 0.05, graph 0.05
set key top right box opaque

lbl(i) = sprintf("%s (final %.3g)", value("t" . i), last[i])
if (exists("ref")) {
    if (!exists("ref_label")) { ref_label = sprintf("reference %g", ref) }
    plot for [i = 1:n] value("f" . i) using "step":"Training Loss" with linespoints \
             lw 2 pt (4 + 2 * i) ps 1 pi pint[i] title lbl(i), \
         ref with lines dt 2 lw 2 lc rgb "#555555" title ref_label
} else {
    plot for [i = 1:n] value("f" . i) using "step":"Training Loss" with linespoints \
             lw 2 pt (4 + 2 * i) ps 1 pi pint[i] title lbl(i)
}
set output
