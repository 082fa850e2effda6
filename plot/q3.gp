# Q3: iterative MBRL on one environment -- Eval_AverageReturn (line, +-Eval_StdReturn band) and
# Train_AverageReturn vs. iteration, with the assignment's expected return range as a grey band.
#
# usage: gnuplot -e "file='RUN/metrics.csv'; out='q3_obstacles.png'; env='obstacles'; lo=-25; hi=-20" plot/q3.gp
# (works on a run in progress: it draws whatever iterations metrics.csv holds)
# nseeds=N (N > 1): file is a mean over N seeds (plot/aggregate.py series); the band is then the
# lowest to the highest seed's Eval_AverageReturn instead of +- Eval_StdReturn (over episodes).

if (!exists("file")) { print "q3.gp: set file='.../metrics.csv'"; exit }
if (!exists("out"))  { out = "q3.png" }
if (!exists("env"))  { env = "" }
if (!exists("nseeds")) { nseeds = 1 }
if (!exists("seeds_note")) { seeds_note = "" }  # e.g. ", 2 in progress": seeds whose runs are incomplete
if (!exists("ttl"))  { ttl = "Q3: MBRL with on-policy data collection" . (env ne "" ? " -- " . env : "") }

set datafile separator ','

stats file using (column("Iteration")) nooutput name "X"
xmin = X_min
xmax = X_max
set xrange [xmin - 0.3 : xmax + 0.3]
if (xmax - xmin <= 25) { set xtics 1 }

set terminal pngcairo noenhanced size 900, 600 font "Sans,12"
set output out
set title ttl . sprintf("  (%d iteration%s logged)", X_records, X_records == 1 ? "" : "s") font ",14"
set xlabel "iteration"
set ylabel "average return"
set grid lc rgb "#dddddd"
# key under the plot at a fixed place (cairo "set key below" can collide with the x label)
set bmargin at screen 0.19
set key at screen 0.5, 0.015 center bottom horizontal maxrows 2 samplen 2 box opaque
set offsets 0, 0, graph 0.05, graph 0.05

has_band = exists("lo") && exists("hi")
# '+' samples the x range; used for the expectation band so that it also drives the y autoscale
set samples 2
band = ""
if (has_band) {
    set label 1 "assignment" at first xmin - 0.25, first hi left offset 0, 0.7 tc rgb "#555555" font ",10"
    band = sprintf("'+' using 1:(lo):(hi) with filledcurves fs transparent solid 0.25 noborder lc rgb '#777777' title 'assignment: %g to %g', ", lo, hi) . \
           "'+' using 1:(lo) with lines dt 2 lw 1.5 lc rgb '#777777' notitle, " . \
           "'+' using 1:(hi) with lines dt 2 lw 1.5 lc rgb '#777777' notitle, "
}

if (nseeds > 1) {
    lo_col = "Eval_AverageReturn_min"
    hi_col = "Eval_AverageReturn_max"
    band_title = sprintf("Eval, min to max over %d seeds", nseeds) . seeds_note
    mean_note = sprintf(", mean of n=%d seeds", nseeds) . seeds_note
} else {
    band_title = "Eval +- std (episodes)"
    mean_note = ", n=1 seed" . seeds_note
}
eval_lo(x) = nseeds > 1 ? column(lo_col) : column("Eval_AverageReturn") - column("Eval_StdReturn")
eval_hi(x) = nseeds > 1 ? column(hi_col) : column("Eval_AverageReturn") + column("Eval_StdReturn")
plot @band \
     file using "Iteration":(eval_lo(0)):(eval_hi(0)) \
         with filledcurves fs transparent solid 0.2 noborder lc rgb "#d62728" title band_title, \
     file using "Iteration":"Eval_AverageReturn" with linespoints lw 2 pt 7 ps 1 lc rgb "#d62728" title "Eval_AverageReturn (MPC)" . mean_note, \
     file using "Iteration":"Train_AverageReturn" with linespoints lw 2 pt 5 ps 1 lc rgb "#1f77b4" title "Train_AverageReturn (collected data)"
set output
