# Model diagnostics of one run: per iteration, on the held-out evaluation paths, the
# ensemble mean's one-step error, its open-loop error after 10 steps and the members'
# disagreement, all in normalized units (mbrl.hpp, model_diagnostics), with the training loss.
#
# usage: gnuplot -e "file='RUN/metrics.csv'; out='q3_cheetah_model.png'; name='q3_cheetah'" plot/model.gp

if (!exists("file")) { print "model.gp: set file='.../metrics.csv'"; exit }
if (!exists("out"))  { out = "model.png" }
if (!exists("name")) { name = "" }

set datafile separator ','
set datafile missing ''

stats file using (column("Iteration")) nooutput name "X"
xmin = X_min
xmax = X_max
set xrange [xmin - 0.3 : xmax + 0.3]
if (xmax - xmin <= 25) { set xtics 1 }

set terminal pngcairo noenhanced size 900, 600 font "Sans,12"
set output out
set title "model diagnostics on held-out data -- " . name font ",14"
set xlabel "iteration"
set ylabel "normalized units (log scale)"
set logscale y
set grid lc rgb "#dddddd"
set bmargin at screen 0.19
set key at screen 0.5, 0.015 center bottom horizontal maxrows 2 samplen 2 box opaque
# A log axis cannot show 0 (one member's disagreement): such points are left out.
pos(c) = column(c) > 0 ? column(c) : NaN
# Probabilistic members log their Gaussian NLL as the training loss, which goes negative: then
# the key says that its points at or below 0 are left out (often all of them).
stats file using (column("Training Loss")) nooutput name "L"
loss_title = L_min > 0 ? "Training Loss (train data)" : "Training Loss (NLL, <= 0 not drawn)"
plot file using "Iteration":(pos("Model_OneStepError")) with linespoints lw 2 pt 7 lc rgb "#d62728" title "one-step MSE of the ensemble mean", \
     file using "Iteration":(pos("Model_OpenLoop10Error")) with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "open-loop MSE after 10 steps", \
     file using "Iteration":(pos("Model_Disagreement")) with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "disagreement (std across members)", \
     file using "Iteration":(pos("Training Loss")) with linespoints dt 2 lw 1.5 pt 1 ps 1.5 lc rgb "#777777" title loss_title
set output
