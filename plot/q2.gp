# Q2: random-shooting MPC sanity check (one iteration) -- Train_AverageReturn (random actions)
# and Eval_AverageReturn (MPC with the learned model) as two single points with +-std error
# bars, beside the assignment's expected values (Train about -160, Eval -70 to -50).
#
# usage: gnuplot -e "file='RUN/metrics.csv'; out='q2_returns.png'" plot/q2.gp
# check='PREFIX': also write PREFIX.txt, the figure's settings and drawn y range (tests/plot_test.sh)
# (if the run has several rows, every iteration is drawn; q2 has exactly one)
# nseeds=N (N > 1): file is a mean over N seeds (plot/aggregate.py series); the points are the
# means and the bars go from the lowest to the highest seed instead of +- std over episodes.

if (!exists("file")) { print "q2.gp: set file='.../metrics.csv'"; exit }
if (!exists("out"))  { out = "q2_returns.png" }
if (!exists("nseeds")) { nseeds = 1 }
if (!exists("seeds_note")) { seeds_note = "" }  # e.g. ", 2 in progress": seeds whose runs are incomplete
if (!exists("ttl"))  { ttl = "Q2: random-shooting MPC on obstacles, one iteration" }

set datafile separator ','
set terminal pngcairo noenhanced size 900, 600 font "Sans,12"
set output out

# assignment expectations: x, y_center, y_low, y_high (comma separated like the CSVs)
$EXPECT << EOD
0,-160,-165,-155
1,-60,-70,-50
EOD

set title ttl font ",14"
set xlabel "episodes of the run's one iteration, by the policy that acted" offset 0, -1.2
set ylabel "average return"
set xrange [-0.6 : 1.6]
set xtics ("Train_AverageReturn\n(random actions, data collection)" 0, "Eval_AverageReturn\n(MPC with the learned model)" 1) nomirror
set grid ytics lc rgb "#dddddd"
# key under the plot at a fixed place (cairo "set key below" can collide with the x label)
set bmargin at screen 0.29
set key at screen 0.5, 0.015 center bottom horizontal maxrows 2 samplen 2 box opaque
set offsets 0, 0, graph 0.08, graph 0.08

# error bars: +- std over the episodes of one seed, or min to max over several seeds
bar_lo(k) = nseeds > 1 ? column(k . "_AverageReturn_min") : column(k . "_AverageReturn") - column(k . "_StdReturn")
bar_hi(k) = nseeds > 1 ? column(k . "_AverageReturn_max") : column(k . "_AverageReturn") + column(k . "_StdReturn")
bar_note = nseeds > 1 ? sprintf("(mean of n=%d seeds%s, bars min to max)", nseeds, seeds_note) : "+- std (n=1 seed" . seeds_note . ")"

plot $EXPECT using 1:2:($1 - 0.25):($1 + 0.25):3:4 with boxxyerror fs transparent solid 0.25 noborder \
         lc rgb "#888888" title "assignment (Train about -160, Eval -70 to -50)", \
     file using (0):"Train_AverageReturn":(bar_lo("Train")):(bar_hi("Train")) with yerrorbars lw 2 pt 7 ps 2 lc rgb "#1f77b4" \
         title "Train_AverageReturn " . bar_note, \
     file using (1):"Eval_AverageReturn":(bar_lo("Eval")):(bar_hi("Eval")) with yerrorbars lw 2 pt 7 ps 2 lc rgb "#d62728" \
         title "Eval_AverageReturn " . bar_note, \
     file using (0):"Train_AverageReturn":(sprintf("%.1f", column("Train_AverageReturn"))) with labels \
         left offset 1.5, 0 notitle, \
     file using (1):"Eval_AverageReturn":(sprintf("%.1f", column("Eval_AverageReturn"))) with labels \
         left offset 1.5, 0 notitle
if (exists("check")) { save set check . ".txt"; set print check . ".txt" append; \
                       print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); \
                       print "# plot: " . GPVAL_LAST_PLOT; unset print }
set output
