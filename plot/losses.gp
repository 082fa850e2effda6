# Model training loss (iteration 0) vs. training step, for one or more runs.
# Used for the per-run Q1 loss figures (itr_0_losses.png equivalent) and the Q1 comparison.
#
# usage: gnuplot -e "n=2; f1='RUN1/losses.csv'; t1='label 1'; f2='RUN2/losses.csv'; t2='label 2'; \
#                    out='q1_losses.png'; ttl='Q1: training loss'" plot/losses.gp
# optional: logy=0 for a linear y axis (default: log scale)
#           ref=0.2; ref_label='...'  dashed horizontal reference line
#           check='PREFIX': also write PREFIX.panel<k>.txt per panel, its settings and drawn y
#           range (tests/plot_test.sh)
# input columns: step,Training Loss
# When the shortest run has under a tenth of the longest's steps (q1's 5 steps beside 500), a
# first panel shows the shortest run's steps for every run, beside the panel of all steps. Steps
# are integers: so are the x tics.

if (!exists("n"))    { n = 1 }
if (!exists("f1"))   { print "losses.gp: set f1='.../losses.csv' (and n, f2, ...)"; exit }
if (!exists("out"))  { out = "losses.png" }
if (!exists("ttl"))  { ttl = "Model training loss (iteration 0)" }
if (!exists("logy")) { logy = 1 }
do for [i = 1:n] { if (!exists("t" . i)) { eval sprintf("t%d = 'Training Loss (run %d)'", i, i) } }
if (exists("ref") && !exists("ref_label")) { ref_label = sprintf("reference %g", ref) }

set datafile separator ','

# final loss of each run (for the legend), a point interval so that short runs (e.g. 5 steps)
# show every point while long ones get ~15 markers, and the shortest and longest run's last step
array last[n]
array pint[n]
slong = 0
sshort = 1e30
do for [i = 1:n] {
    lastv = NaN   # last valid loss value, remembered while stats reads the file
    stats value("f" . i) using (v = column("Training Loss"), (v == v ? lastv = v : 0), v) nooutput name "L"
    stats value("f" . i) using (column("step")) nooutput name "S"
    pint[i] = (L_records > 15) ? int(L_records / 15) : 1
    last[i] = lastv
    if (S_max > slong) { slong = S_max }
    if (S_max < sshort) { sshort = S_max }
}
zoom = n >= 2 && sshort * 10 < slong
npanels = zoom ? 2 : 1

# The key sits under the panels, below the x label: the canvas grows by a line per key row.
lbl(i) = sprintf("%s (final %.3g)", value("t" . i), last[i])
kentries = n + exists("ref")
klen = exists("ref") ? strlen(ref_label) : 0
do for [i = 1:n] { if (strlen(lbl(i)) > klen) { klen = strlen(lbl(i)) } }
kcols = klen <= 38 ? 2 : 1
krows = int((kentries + kcols - 1) / kcols)
height = 560 + 22 * krows
width = zoom ? 1200 : 900

set terminal pngcairo noenhanced size width, height font "Sans,12"
set output out
set multiplot title ttl font ",14"
set tmargin at screen 1 - 70.0 / height
set bmargin at screen (78.0 + 22 * krows) / height
set xlabel "model training step"
set ylabel "training loss (ensemble-mean MSE)"
set grid lc rgb "#dddddd"
# log axis: label 1-2-3-5 style values so that ranges narrower than a decade still get numbers
if (logy) { set logscale y; set format y "%g"; \
            set ytics (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, \
                       0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100, 200, 500, 1000) }
set autoscale yfix
set offsets 0, 0, graph 0.05, graph 0.05
set format x "%.0f"
# integer tics: every step up to 12 steps, else gnuplot's (multiples of 2, 5, 10, ...)
xtic_step(s) = s <= 12 ? 1 : s <= 25 ? 5 : 0

do for [panel = 1:npanels] {
    top = (zoom && panel == 1) ? sshort : slong
    left = zoom ? (panel == 1 ? 80.0 : 530.0) : 90.0
    right = zoom ? (panel == 1 ? 420.0 : width - 25.0) : width - 25.0
    eval sprintf("set lmargin at screen %g; set rmargin at screen %g", left / width, right / width)
    set xrange [-0.01 * top - 0.2 : top * 1.01 + 0.2]
    if (xtic_step(top) > 0) { set xtics xtic_step(top) } else { set xtics autofreq }
    if (zoom) { set title (panel == 1 ? sprintf("the first %d steps (every run)", sshort + 1) : sprintf("all %d steps", slong + 1)) } \
    else { unset title }
    # the key (of every panel's runs) and the reference line go with the panel of all steps
    if (panel == npanels) { set key at screen 0.5, 6.0 / height center bottom vertical maxrows krows samplen 2 box opaque } \
    else { unset key }
    # in the first panel of two every point is marked, and the marks grow with the run's number,
    # so that runs with equal losses there stay apart
    if (exists("ref") && panel == npanels) {
        plot for [i = 1:n] value("f" . i) using "step":"Training Loss" with linespoints \
                 lw 2 pt (4 + 2 * i) ps 1 pi pint[i] title lbl(i), \
             ref with lines dt 2 lw 2 lc rgb "#555555" title ref_label
    } else {
        plot for [i = 1:n] value("f" . i) using "step":"Training Loss" with linespoints \
                 lw 2 pt (4 + 2 * i) ps (panel < npanels ? 0.8 + 0.6 * i : 1) pi (panel < npanels ? 1 : pint[i]) title lbl(i)
    }
    if (exists("check")) {
        cf = sprintf("%s.panel%d.txt", check, panel)
        save set cf
        set print cf append
        print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX)
        do for [i = 1:n] { print "# key: " . lbl(i) }
        unset print
    }
}
unset multiplot
set output
