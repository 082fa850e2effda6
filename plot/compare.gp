# Compare several runs: one line per run of a metrics.csv column (default Eval_AverageReturn)
# vs. iteration, optionally with a dashed horizontal "assignment" expectation line.
# Used for Q4 (ensemble size, number of action sequences, horizon) and Q5 (random vs CEM).
#
# usage: gnuplot -e "n=3; f1='RUN1/metrics.csv'; t1='ensemble 1'; ...; out='q4_ensemble.png'; \
#                    ttl='Q4: effect of ensemble size'" plot/compare.gp
# optional: ycol='Eval_AverageReturn' (column to plot), ylab='...' (y axis label),
#           expect=800; expect_label='assignment: about 800 (CEM)'
#           band=1: the files are means over seeds (plot/aggregate.py series) with columns
#           <ycol>_min and <ycol>_max; each run gets a band from min to max in its colour

if (!exists("n"))     { n = 1 }
if (!exists("f1"))    { print "compare.gp: set f1='.../metrics.csv' (and n, f2, ...)"; exit }
if (!exists("out"))   { out = "compare.png" }
if (!exists("ttl"))   { ttl = "" }
if (!exists("ycol"))  { ycol = "Eval_AverageReturn" }
if (!exists("ylab"))  { ylab = ycol }
if (!exists("band"))  { band = 0 }
do for [i = 1:n] { if (!exists("t" . i)) { eval sprintf("t%d = f%d", i, i) } }

set datafile separator ','

# x range over all runs (iterations are integers starting at 0)
xmax = 0
do for [i = 1:n] {
    stats value("f" . i) using (column("Iteration")) nooutput name "X"
    if (X_max > xmax) { xmax = X_max }
}
set xrange [-0.3 : xmax + 0.3]
if (xmax <= 25) { set xtics 1 }

set terminal pngcairo noenhanced size 900, 600 font "Sans,12"
set output out
set title ttl . (band ? "\n(mean over seeds; band: min to max over seeds)" : "") font ",14"
set xlabel "iteration"
set ylabel ylab
set grid lc rgb "#dddddd"
# key under the plot at a fixed place (cairo "set key below" can collide with the x label)
set bmargin at screen 0.19
set key at screen 0.5, 0.015 center bottom horizontal maxrows 2 samplen 2 box opaque
set offsets 0, 0, graph 0.06, graph 0.06
set style data linespoints
# a different marker per run (filled circle, square, triangle, diamond, ...)
ptype(i) = int(word("7 5 9 13 11 15", (i - 1) % 6 + 1))

# the min-max bands (drawn first, under the lines), or nothing
bands = ""
if (band) {
    bands = "for [i = 1:n] value('f' . i) using 'Iteration':(column(ycol . '_min')):(column(ycol . '_max')) " . \
            "with filledcurves fs transparent solid 0.15 noborder lc i notitle, "
}
if (exists("expect")) {
    if (!exists("expect_label")) { expect_label = sprintf("assignment: %g", expect) }
    set label 1 "assignment" at graph 0.01, first expect left offset 0, 0.7 tc rgb "#555555" font ",10"
    plot @bands for [i = 1:n] value("f" . i) using "Iteration":ycol lw 2 pt ptype(i) ps 1.2 lc i title value("t" . i), \
         expect with lines dt 2 lw 2 lc rgb "#555555" title expect_label
} else {
    plot @bands for [i = 1:n] value("f" . i) using "Iteration":ycol lw 2 pt ptype(i) ps 1.2 lc i title value("t" . i)
}
set output
