# Q1 model predictions: true (green) vs. model-0 open-loop prediction (red),
# one subplot per observation dimension (ob_dim rounded down to even, 2 columns),
# overall title "MPE: <value>" -- the equivalent of the reference itr_0_predictions.png.
#
# usage: gnuplot -e "file='RUN/predictions.csv'; out='X_predictions.png'; name='q1_...'" plot/predictions.gp
# check='PREFIX': also write PREFIX.txt, the settings of the last panel (tests/plot_test.sh)
# input columns: step,dimension,true,predicted,mpe  (rows ordered step-major: all dims of step 0, then step 1, ...)

if (!exists("file")) { print "predictions.gp: set file='.../predictions.csv'"; exit }
if (!exists("out"))  { out = "predictions.png" }
if (!exists("name")) { name = "" }

set datafile separator ','

stats file using (column("dimension")) nooutput name "D"
ob_dim = int(D_max) + 1
nplot  = 2 * int(ob_dim / 2)
if (nplot < 2) { nplot = 2 }          # 1-d observation: still draw one row
nrows  = nplot / 2
stats file using (column("mpe")) nooutput name "M"
mpe = M_mean
stats file using (column("step")) nooutput name "S"

# ~180 px per row (900x1800 for cheetah), at least 500 px tall
height = (nrows * 180 > 500) ? nrows * 180 : 500
set terminal pngcairo noenhanced size 900, height font "Sans,9"
set output out

set grid lc rgb "#dddddd"
set xrange [S_min : S_max]
set xtics 1 font ",8"
set ytics font ",8"
set format y "%g"
unset key

# a "nice" tic step giving about 4 intervals over [lo, hi] (keeps the small panels readable)
nicestep(r) = (r <= 0) ? 0 : nicemant(r / 4.0 / 10**floor(log10(r / 4.0))) * 10**floor(log10(r / 4.0))
nicemant(m) = (m <= 1) ? 1 : (m <= 2) ? 2 : (m <= 5) ? 5 : 10

top = 1.0 - 70.0 / height
set multiplot layout nrows, 2 title sprintf("MPE: %.6g", mpe) . (name ne "" ? "\n" . name : "") font ",14" \
    margins 0.07, 0.98, 45.0 / height, top spacing 0.07, 28.0 / height
do for [i = 0:nplot - 1] {
    set title sprintf("obs dim %d", i) font ",9" offset 0, -0.6
    if (i == 0) { set key top left font ",8" samplen 2 box opaque } else { unset key }
    if (i >= nplot - 2) { set xlabel "step" offset 0, 0.5; set format x "%g" } else { unset xlabel; set format x "" }
    set ylabel "observation" font ",8" offset 1.5, 0
    stats file every ob_dim::i using "true"      nooutput name "T"
    stats file every ob_dim::i using "predicted" nooutput name "P"
    lo = (T_min < P_min) ? T_min : P_min
    hi = (T_max > P_max) ? T_max : P_max
    ystep = nicestep(hi - lo)
    if (ystep > 0) { set ytics ystep } else { set ytics autofreq }
    plot file every ob_dim::i using "step":"true"      with linespoints lc rgb "#1a9850" lw 2 pt 7 ps 0.5 title "true", \
         file every ob_dim::i using "step":"predicted" with linespoints lc rgb "#d73027" lw 2 pt 7 ps 0.5 title "predicted"
}
if (exists("check")) { save set check . ".txt"; set print check . ".txt" append; \
                       print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); \
                       print "# plot: " . GPVAL_LAST_PLOT; unset print }
unset multiplot
set output
