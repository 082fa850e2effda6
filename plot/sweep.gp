# A sweep's jobs over time: one bar per job in the core slot it ran in, coloured by question,
# the sittings laid end to end (dashed lines where one ended and the next began).
#
# usage: python3 plot/aggregate.py sweep data/sweep/*/joblog.tsv --cores 2 --csv sweep.csv
#        gnuplot -e "file='sweep.csv'; cores=2; out='sweep.png'; ttl='...'" plot/sweep.gp
# The CSV (name, sitting, slot, start_h, end_h, question, status) and file.sittings (end_h of
# each sitting) come from aggregate.py. ttl: the title (aggregate.py's summary line serves).
# check='PREFIX': also write PREFIX.txt, the figure's settings and drawn y range (tests/plot_test.sh)

if (!exists("file"))  { print "sweep.gp: set file='sweep.csv' (plot/aggregate.py sweep --csv)"; exit }
if (!exists("out"))   { out = "sweep.png" }
if (!exists("cores")) { cores = 2 }
if (!exists("ttl"))   { ttl = "sweep" }

set datafile separator ','
stats file using (column("end_h")) nooutput name "T"

set terminal pngcairo noenhanced size 1000, 150 + 90 * cores font "Sans,11"
set output out
set title ttl font ",12"
set xlabel "hours of the sweep (sittings laid end to end)"
set ylabel "core"
set xrange [0 : T_max * 1.01]
set yrange [-0.6 : cores - 0.4]
set ytics 1
set grid xtics lc rgb "#dddddd"
set key outside right top

# q1 .. q6 as 1 .. 6, for the colour (0: anything else, such as the header line stats reads)
qnum(s) = s eq "q1" ? 1 : s eq "q2" ? 2 : s eq "q3" ? 3 : s eq "q4" ? 4 : s eq "q5" ? 5 : s eq "q6" ? 6 : 0
colour(i) = word("#8c564b #9467bd #1f77b4 #2ca02c #d62728 #ff7f0e", i)
set palette maxcolors 6
set palette defined (1 "#8c564b", 2 "#9467bd", 3 "#1f77b4", 4 "#2ca02c", 5 "#d62728", 6 "#ff7f0e")
set cbrange [0.5 : 6.5]
unset colorbox

# A job's name is written in its bar when it fits: about 790 of the 1000 pixels are the plot's,
# and a character of the labels' font about 6 pixels wide.
fits(hours, name) = hours * 790.0 / (T_max * 1.01) > 6.0 * strlen(name) + 8

# sitting boundaries
sittings = file . ".sittings"
# the questions present, for the key
present = ""
do for [q = 1:6] {
    stats file using (qnum(strcol("question")) == q ? 1 : 0) nooutput name "P"
    if (P_sum > 0) { present = present . sprintf(" %d", q) }
}
plot sittings using 1:(-0.6):(0):(cores) with vectors nohead dt 2 lc rgb "#777777" title "a sitting ends", \
     file using ((column("start_h") + column("end_h")) / 2):(column("slot")): \
                ((column("end_h") - column("start_h")) / 2):(0.35):(qnum(strcol("question"))) \
          with boxxyerror fs solid 0.6 border lc rgb "#333333" lc palette notitle, \
     for [q in present] NaN with boxes fs solid 0.6 lc rgb colour(int(q)) title "q" . q, \
     file using ((column("start_h") + column("end_h")) / 2):(column("slot")): \
                (fits(column("end_h") - column("start_h"), strcol("name")) ? strcol("name") : "") \
          with labels font ",8" notitle
if (exists("check")) { save set check . ".txt"; set print check . ".txt" append; \
                       print sprintf("# drawn y range: %.9g %.9g", GPVAL_Y_MIN, GPVAL_Y_MAX); unset print }
set output
