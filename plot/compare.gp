# Compare several runs: one line per run of a metrics.csv column (default Eval_AverageReturn)
# vs. iteration, optionally with a dashed horizontal "assignment" expectation line.
# Used for Q4 (ensemble size, number of action sequences, horizon), Q5 (random vs CEM), Q6 and
# the beyond_*.png figures.
#
# usage: gnuplot -e "n=3; f1='RUN1/metrics.csv'; t1='ensemble 1'; ...; out='q4_ensemble.png'; \
#                    ttl='Q4: effect of ensemble size'" plot/compare.gp
# optional: ycol='Eval_AverageReturn' (column to plot), ylab='...' (y axis label),
#           expect=800; expect_label='assignment: about 800 (CEM)'
#           band=1: the files are means over seeds (plot/aggregate.py series) with columns
#           <ycol>_min and <ycol>_max; each run gets a band from min to max in its colour
#           yfrom=1: the y range is chosen from iteration 1 on (bands and expect included), not
#           from every iteration; a value of iteration 0 outside it gets an arrow at the plot's
#           edge and its number, in its run's colour
#           check='PREFIX': also write PREFIX.txt, the figure's settings and drawn y range
#           (tests/plot_test.sh)

if (!exists("n"))     { n = 1 }
if (!exists("f1"))    { print "compare.gp: set f1='.../metrics.csv' (and n, f2, ...)"; exit }
if (!exists("out"))   { out = "compare.png" }
if (!exists("ttl"))   { ttl = "" }
if (!exists("ycol"))  { ycol = "Eval_AverageReturn" }
if (!exists("ylab"))  { ylab = ycol }
if (!exists("band"))  { band = 0 }
do for [i = 1:n] { if (!exists("t" . i)) { eval sprintf("t%d = f%d", i, i) } }
if (exists("expect") && !exists("expect_label")) { expect_label = sprintf("assignment: %g", expect) }

set datafile separator ','

# x range over all runs (iterations are integers starting at 0)
xmax = 0
do for [i = 1:n] {
    stats value("f" . i) using (column("Iteration")) nooutput name "X"
    if (X_max > xmax) { xmax = X_max }
}
set xrange [-0.3 : xmax + 0.3]
if (xmax <= 25) { set xtics 1 }

band_lo(x) = band ? column(ycol . "_min") : column(ycol)
band_hi(x) = band ? column(ycol . "_max") : column(ycol)
fmtv(v) = abs(v) >= 1000 ? sprintf("%.0f", v) : sprintf("%.1f", v)
# a run's label without its " (n=...)" note, for the marks of iteration 0
short(t) = strstrt(t, " (n=") > 1 ? t[1 : strstrt(t, " (n=") - 1] : t

if (exists("yfrom") && xmax >= yfrom) {
    ylo = NaN
    yhi = NaN
    upd(v) = (v == v) ? (ylo = (ylo == ylo && ylo < v) ? ylo : v, yhi = (yhi == yhi && yhi > v) ? yhi : v, 0) : 0
    do for [i = 1:n] {
        stats value("f" . i) using (column("Iteration") >= yfrom ? (upd(band_lo(0)), upd(band_hi(0)), upd(column(ycol)), 0) : 0) nooutput
    }
    if (exists("expect")) { dummy = upd(expect) }
    pad = (yhi - ylo) * 0.06
    if (!(pad > 0)) { pad = (ylo == ylo && ylo != 0) ? abs(ylo) * 0.1 : 1 }
    ybot = ylo - pad
    ytop = yhi + pad
    strip = (ytop - ybot) * 0.07
    # Iterations before yfrom outside the range: a strip per value at that edge, where a grey
    # arrow at iteration 0 points on and the value is written in its run's colour (right of
    # iteration 1). Pass 1: the means; pass 2: a band still beyond the range the strips give.
    array mtext[2 * n]
    array mrun[2 * n]
    array mside[2 * n]
    nmarks = 0
    nbelow = 0
    nabove = 0
    do for [pass = 1:2] {
        do for [i = 1:n] {
            v0 = NaN
            b0 = NaN
            t0 = NaN
            stats value("f" . i) using (column("Iteration") == 0 ? (v0 = column(ycol), b0 = band_lo(0), t0 = band_hi(0), 0) : 0) nooutput
            side = 0
            if (pass == 1 && (v0 < ybot || v0 > ytop)) {
                side = (v0 < ybot) ? -1 : 1
                text = short(value("t" . i)) . " at iteration 0: " . fmtv(v0) . (band ? sprintf(" (band %s to %s)", fmtv(b0), fmtv(t0)) : "")
            }
            if (pass == 2 && v0 >= ybot && v0 <= ytop && (b0 < ybot - strip * nbelow || t0 > ytop + strip * nabove)) {
                side = (b0 < ybot - strip * nbelow) ? -1 : 1
                text = short(value("t" . i)) . ": band at iteration 0 reaches " . fmtv(side < 0 ? b0 : t0)
            }
            if (side != 0) {
                nmarks = nmarks + 1
                mtext[nmarks] = text
                mrun[nmarks] = i
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
        eval sprintf("set label %d \"%s\" at first %g, first %.9g left tc lt %d font ',10' front", 10 + j, mtext[j], lx, y, mrun[j])
    }
    if (nbelow > 0) { set arrow 11 from first 0, first ybot to first 0, first ybot - strip * nbelow head filled lw 2 lc rgb "#555555" front }
    if (nabove > 0) { set arrow 12 from first 0, first ytop to first 0, first ytop + strip * nabove head filled lw 2 lc rgb "#555555" front }
    set yrange [ybot - strip * nbelow : ytop + strip * nabove]
} else {
    set offsets 0, 0, graph 0.06, graph 0.06
}

# The key sits under the plot, below the x label: the canvas grows by a line per key row, so
# the plot keeps its size and the key cannot cover the x label. Columns as the titles allow
# (about 9 pixels a character).
kentries = n + exists("expect")
klen = exists("expect") ? strlen(expect_label) : 0
do for [i = 1:n] { if (strlen(value("t" . i)) > klen) { klen = strlen(value("t" . i)) } }
kcols = klen <= 22 ? 3 : klen <= 38 ? 2 : 1
krows = int((kentries + kcols - 1) / kcols)
height = 560 + 22 * krows

set terminal pngcairo noenhanced size 900, height font "Sans,12"
set output out
set title ttl . (band ? "\n(mean over seeds; band: min to max over seeds)" : "") font ",14"
set xlabel "iteration"
set ylabel ylab
set grid lc rgb "#dddddd"
set bmargin at screen (78.0 + 22 * krows) / height
set key at screen 0.5, 6.0 / height center bottom vertical maxrows krows samplen 2 box opaque
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
    set label 1 "assignment" at graph 0.01, first expect left offset 0, 0.7 tc rgb "#555555" font ",10"
    plot @bands for [i = 1:n] value("f" . i) using "Iteration":ycol lw 2 pt ptype(i) ps 1.2 lc i title value("t" . i), \
         expect with lines dt 2 lw 2 lc rgb "#555555" title expect_label
} else {
    plot @bands for [i = 1:n] value("f" . i) using "Iteration":ycol lw 2 pt ptype(i) ps 1.2 lc i title value("t" . i)
}
if (exists("check")) { save set check . ".txt"; set print check . ".txt" append; \
                       print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); \
                       print "# plot: " . GPVAL_LAST_PLOT; do for [i = 1:n] { print "# key: " . value("t" . i) }; unset print }
set output
