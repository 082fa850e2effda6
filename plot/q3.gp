# Q3: iterative MBRL on one environment -- Eval_AverageReturn and Train_AverageReturn vs.
# iteration, each with a band, and the assignment's expected return range as a grey band.
#
# usage: gnuplot -e "file='RUN/metrics.csv'; out='q3_obstacles.png'; env='obstacles'; lo=-25; hi=-20" plot/q3.gp
# (works on a run in progress: it draws whatever iterations metrics.csv holds)
# nseeds=N (N > 1): file is a mean over N seeds (plot/aggregate.py series); both bands then go
# from the lowest to the highest seed. With one seed they are +- the std over the iteration's
# episodes (Eval_StdReturn, Train_StdReturn).
# The y range is chosen from iteration 1 on (bands included) and the assignment's range:
# iteration 0 collects random actions (Train -2,500 on cheetah), which would squash the learning
# curve into a strip. A value of iteration 0 outside that range gets an arrow at the plot's edge
# with its number (the line to it leaves the plot there).
# check='PREFIX': also write PREFIX.txt, the figure's settings and drawn y range (tests/plot_test.sh).

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

has_band = exists("lo") && exists("hi")

# the bands of "Eval" and "Train": min to max over seeds, or +- std over one seed's episodes
band_lo(k) = nseeds > 1 ? column(k . "_AverageReturn_min") : column(k . "_AverageReturn") - column(k . "_StdReturn")
band_hi(k) = nseeds > 1 ? column(k . "_AverageReturn_max") : column(k . "_AverageReturn") + column(k . "_StdReturn")
band_note = nseeds > 1 ? sprintf("mean of n=%d seeds%s; bands: min to max over the seeds", nseeds, seeds_note) \
                       : "n=1 seed" . seeds_note . "; bands: +- std over the iteration's episodes"

# y range: every band of the iterations from `first` on (iteration 0 alone if it is all there is)
first = (xmax >= 1) ? 1 : xmin
ylo = NaN
yhi = NaN
upd(v) = (v == v) ? (ylo = (ylo == ylo && ylo < v) ? ylo : v, yhi = (yhi == yhi && yhi > v) ? yhi : v, 0) : 0
stats file using (column("Iteration") >= first ? (upd(band_lo("Eval")), upd(band_hi("Eval")), \
                                                  upd(band_lo("Train")), upd(band_hi("Train")), \
                                                  upd(column("Eval_AverageReturn")), upd(column("Train_AverageReturn")), 0) : 0) nooutput
if (has_band) { dummy = upd(lo) + upd(hi) }
pad = (yhi - ylo) * 0.06
if (!(pad > 0)) { pad = (ylo == ylo && ylo != 0) ? abs(ylo) * 0.1 : 1 }
ybot = ylo - pad
ytop = yhi + pad

# Iteration 0 outside that range: the range grows by a strip per value at that edge, where a grey
# arrow at iteration 0 points on and the value is written in its series' colour (right of
# iteration 1, where only iteration 0's line and band pass).
fmtv(v) = abs(v) >= 1000 ? sprintf("%.0f", v) : sprintf("%.1f", v)
array mtext[4]
array mcolour[4]
array mside[4]
nmarks = 0
nbelow = 0
nabove = 0
strip = (ytop - ybot) * 0.07
# pass 1: the means; pass 2: a band still beyond the range the strips give
do for [pass = 1:2] {
    do for [k in (xmin == 0 && first == 1 ? "Eval Train" : "")] {
        v0 = NaN
        b0 = NaN
        t0 = NaN
        stats file using (column("Iteration") == 0 ? (v0 = column(k . "_AverageReturn"), b0 = band_lo(k), t0 = band_hi(k), 0) : 0) nooutput
        side = 0
        if (pass == 1 && (v0 < ybot || v0 > ytop)) {
            side = (v0 < ybot) ? -1 : 1
            text = sprintf("%s at iteration 0: %s (band %s to %s)", k, fmtv(v0), fmtv(b0), fmtv(t0))
        }
        if (pass == 2 && v0 >= ybot && v0 <= ytop && (b0 < ybot - strip * nbelow || t0 > ytop + strip * nabove)) {
            side = (b0 < ybot - strip * nbelow) ? -1 : 1
            text = sprintf("%s's band at iteration 0 reaches %s", k, fmtv(side < 0 ? b0 : t0))
        }
        if (side != 0) {
            nmarks = nmarks + 1
            mtext[nmarks] = text
            mcolour[nmarks] = (k eq "Eval") ? "#d62728" : "#1f77b4"
            mside[nmarks] = side
            if (side < 0) { nbelow = nbelow + 1 } else { nabove = nabove + 1 }
        }
    }
}
lx = (xmax >= 8) ? 1.15 : 0.15
jb = 0
ja = 0
do for [j = 1:nmarks] {
    if (mside[j] < 0) { jb = jb + 1; y = ybot - strip * (jb - 0.5) } else { ja = ja + 1; y = ytop + strip * (ja - 0.5) }
    eval sprintf("set label %d \"%s\" at first %g, first %.9g left tc rgb '%s' font ',10' front", \
                 10 + j, mtext[j], lx, y, mcolour[j])
}
if (nbelow > 0) { set arrow 11 from first 0, first ybot to first 0, first ybot - strip * nbelow head filled lw 2 lc rgb "#555555" front }
if (nabove > 0) { set arrow 12 from first 0, first ytop to first 0, first ytop + strip * nabove head filled lw 2 lc rgb "#555555" front }
set yrange [ybot - strip * nbelow : ytop + strip * nabove]

# The key sits under the plot, below the x label: the canvas grows by a line per key row, so
# the plot keeps its size and the key cannot cover the x label.
kentries = 2 + has_band
krows = int((kentries + 1) / 2)
height = 560 + 22 * krows
set terminal pngcairo noenhanced size 900, height font "Sans,12"
set output out
set title ttl . sprintf("  (%d iteration%s logged)", X_records, X_records == 1 ? "" : "s") . "\n" . band_note font ",14"
set xlabel "iteration"
set ylabel "average return"
set grid lc rgb "#dddddd"
set bmargin at screen (78.0 + 22 * krows) / height
set key at screen 0.5, 6.0 / height center bottom vertical maxrows krows samplen 2 box opaque

# '+' samples the x range; used for the expectation band
set samples 2
band = ""
if (has_band) {
    set label 1 "assignment" at first xmin - 0.25, first hi left offset 0, 0.7 tc rgb "#555555" font ",10"
    band = sprintf("'+' using 1:(lo):(hi) with filledcurves fs transparent solid 0.25 noborder lc rgb '#777777' title 'assignment: %g to %g', ", lo, hi) . \
           "'+' using 1:(lo) with lines dt 2 lw 1.5 lc rgb '#777777' notitle, " . \
           "'+' using 1:(hi) with lines dt 2 lw 1.5 lc rgb '#777777' notitle, "
}

plot @band \
     file using "Iteration":(band_lo("Train")):(band_hi("Train")) \
         with filledcurves fs transparent solid 0.2 noborder lc rgb "#1f77b4" notitle, \
     file using "Iteration":(band_lo("Eval")):(band_hi("Eval")) \
         with filledcurves fs transparent solid 0.2 noborder lc rgb "#d62728" notitle, \
     file using "Iteration":"Eval_AverageReturn" with linespoints lw 2 pt 7 ps 1 lc rgb "#d62728" title "Eval_AverageReturn (MPC)", \
     file using "Iteration":"Train_AverageReturn" with linespoints lw 2 pt 5 ps 1 lc rgb "#1f77b4" title "Train_AverageReturn (collected data)"
if (exists("check")) { save set check . ".txt"; set print check . ".txt" append; \
                       print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); \
                       print "# plot: " . GPVAL_LAST_PLOT; unset print }
set output
