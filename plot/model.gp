# Model diagnostics of one run, per iteration, on the held-out evaluation paths (mbrl.hpp,
# model_diagnostics), in panels side by side, each with its own units:
#   one step      MSE of the ensemble mean's normalized state change (the units of Eq. 5's
#                 training loss, drawn beside it for the training data)
#   disagreement  std across the members of their normalized state changes (left out for one
#                 member, where it is 0 by definition)
#   open loop     MSE after 10 open-loop steps of the ensemble mean, each observation dimension's
#                 error divided by its std
#
# usage: gnuplot -e "file='RUN/metrics.csv'; out='q3_cheetah_model.png'; name='q3_cheetah'; seed='1'" plot/model.gp
# optional: members=N (the ensemble size; 1 leaves the disagreement panel out)
#           nll=1 ('Training Loss' is a Gaussian NLL, not an MSE: not drawn)
#           passed='1,2' (lower seeds whose runs have no diagnostics: named in the title)
#           check='PREFIX': also write PREFIX.panel<k>.txt per panel, its settings and drawn y
#           range, and the title (tests/plot_test.sh)

if (!exists("file")) { print "model.gp: set file='.../metrics.csv'"; exit }
if (!exists("seed")) { print "model.gp: set seed='...' (the run's seed, for the title)"; exit }
if (!exists("out"))  { out = "model.png" }
if (!exists("name")) { name = "" }
if (!exists("members")) { members = 0 }
if (!exists("nll"))  { nll = 0 }
if (!exists("passed")) { passed = "" }

set datafile separator ','
set datafile missing ''

stats file using (column("Iteration")) nooutput name "X"
xmin = X_min
xmax = X_max
# a log axis cannot show 0 or less: such points are left out
pos(c) = column(c) > 0 ? column(c) : NaN
dmax = 0
stats file using (v = column("Model_Disagreement"), (v > dmax ? dmax = v : 0), 0) nooutput
has_dis = members != 1 && dmax > 0

notes = ""
if (!has_dis) { notes = notes . (members == 1 ? "one member: no disagreement (0 by definition)" : "disagreement 0 at every iteration") }
if (nll) { notes = notes . (notes ne "" ? "; " : "") . "training loss not drawn (a Gaussian NLL, not an MSE)" }
if (passed ne "") { notes = notes . (notes ne "" ? "; " : "") . "seed" . (strstrt(passed, ",") ? "s " : " ") . passed . ": no diagnostics in the run" }
mtitle = "model diagnostics on held-out data -- " . name . ", seed " . seed . (notes ne "" ? "\n(" . notes . ")" : "")

npanels = has_dis ? 3 : 2
pw = 450                                  # pixels per panel
width = pw * npanels
height = 600
set terminal pngcairo noenhanced size width, height font "Sans,11"
set output out
set multiplot title mtitle font ",13"

set xrange [xmin - 0.3 : xmax + 0.3]
xstep = (xmax - xmin <= 12) ? 1 : (xmax - xmin <= 30) ? 2 : 10
set xtics xstep
set xlabel "iteration"
set logscale y
set format y "%g"
# 1-2-3-5 labels, so that a range narrower than a decade still gets numbers
set ytics (0.0001, 0.0002, 0.0003, 0.0005, 0.001, 0.002, 0.003, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, \
           0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 30, 50, 100, 200, 500, 1000)
set grid lc rgb "#dddddd"
set tmargin at screen 1 - 100.0 / height
set bmargin at screen 120.0 / height      # tic labels, the x label, then the panel's key
# a panel's y range: its drawn values' from ylo / 1.3 to yhi * 1.3 (also when they are one value)
ylo = NaN
yhi = NaN
upd(v) = (v == v && v > 0) ? (ylo = (ylo == ylo && ylo < v) ? ylo : v, yhi = (yhi == yhi && yhi > v) ? yhi : v, 0) : 0
yrange_of(c1, c2) = sprintf("ylo = NaN; yhi = NaN; set autoscale y; unset logscale y; stats file using (upd(column('%s')), upd(%s), 0) nooutput; " . \
                            "set logscale y; if (ylo == ylo) { set yrange [ylo / 1.3 : yhi * 1.3] } else { set yrange [0.1 : 1] }", \
                            c1, c2 eq "" ? "NaN" : "column('" . c2 . "')")

panel = 0
set_panel(k) = sprintf("set lmargin at screen %g; set rmargin at screen %g; set key at screen %g, %g center bottom vertical maxrows 2 samplen 2 box opaque", \
                       ((k - 1) * pw + 80.0) / width, (k * pw - 15.0) / width, ((k - 0.5) * pw + 32.0) / width, 6.0 / height)
# with check: the panel's settings, drawn y range and the figure's title into PREFIX.panel<k>.txt
save_check = 'if (exists("check")) { cf = sprintf("%s.panel%d.txt", check, panel); save set cf; set print cf append; ' . \
             'print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); print "# title: " . mtitle; unset print }'

# one step: held-out against training error, both MSE of the normalized state change
panel = panel + 1
eval set_panel(panel)
set title "one step ahead"
set ylabel "MSE of the normalized state change"
eval yrange_of("Model_OneStepError", nll ? "" : "Training Loss")
if (nll) {
    plot file using "Iteration":(pos("Model_OneStepError")) with linespoints lw 2 pt 7 lc rgb "#d62728" title "held out: ensemble mean"
} else {
    plot file using "Iteration":(pos("Model_OneStepError")) with linespoints lw 2 pt 7 lc rgb "#d62728" title "held out: ensemble mean", \
         file using "Iteration":(pos("Training Loss")) with linespoints dt 2 lw 1.5 pt 1 ps 1.5 lc rgb "#777777" title "training loss (training data)"
}
eval save_check

if (has_dis) {
    panel = panel + 1
    eval set_panel(panel)
    set title "members' disagreement"
    set ylabel "std across members, normalized state change"
    eval yrange_of("Model_Disagreement", "")
    plot file using "Iteration":(pos("Model_Disagreement")) with linespoints lw 2 pt 9 lc rgb "#2ca02c" title "held out: mean std over rows"
    eval save_check
}

panel = panel + 1
eval set_panel(panel)
set title "10 steps open loop"
set ylabel "MSE after 10 steps, observation / its std"
eval yrange_of("Model_OpenLoop10Error", "")
plot file using "Iteration":(pos("Model_OpenLoop10Error")) with linespoints lw 2 pt 5 lc rgb "#1f77b4" title "held out: ensemble mean"
eval save_check

unset multiplot
set output
