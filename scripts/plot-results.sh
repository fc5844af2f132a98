#!/usr/bin/env bash
# Render the SVG figures of docs/results.md from the CSV files in docs/results/ with gnuplot.
#
#   scripts/plot-results.sh [DIR]     read DIR/*.csv (default: docs/results), write DIR/*.svg
#
# Figures, each drawn only when its CSV is there (otherwise a message says which one is missing):
#   hash-study-factorization.svg   from hash-study-factorization-runs.csv (bloom-compare
#                                  --hash-seeds N --out PREFIX writes PREFIX-runs.csv)
#   hash-study-network.svg         from hash-study-network.csv
#       MRR per hash policy: the mean over the rows of each (hash, ratio) and, as error bars, their
#       min..max; one series per ratio (and per method when there are several). A file of means
#       with mrr_min and mrr_max columns and no hash_seed column is drawn with those bars instead.
#   network-ml100k-p10-share.svg, network-synthetic-p10-share.svg
#                                  from network-ml100k.csv / network-synthetic.csv
#       P@10 as a share of the uncompressed model (p10_share) against m/d (log axis), one line per
#       method+hash; the uncompressed level (1) and the popularity floor as horizontal lines.
#   network-ml100k-speedup.svg, network-synthetic-speedup.svg
#       epoch-time speed-up, the uncompressed sec_per_epoch (rows with ratio 1, of the same method
#       when it has one, else of all methods) over the row's, against m/d (log axis).
#   kinds-ml100k-auc.svg, kinds-ml100k-mrr.svg, kinds-synthetic-auc.svg, kinds-synthetic-mrr.svg,
#   kinds-ml100k-gmf-auc.svg, kinds-ml100k-gmf-mrr.svg
#                                  from kinds-ml100k-runs.csv / kinds-synthetic-runs.csv /
#                                  kinds-ml100k-gmf-runs.csv (the GMF + BCE sweep)
#       (bloom-compare --rows LIST --seeds N --out PREFIX): AUC and MRR against the learned
#       parameters (log axis), a line per embedding kind, the mean over seeds with min..max bars,
#       and the popularity floor.
#
# Columns are found by their header names, in any order; the ones read are method, hash, ratio,
# mrr (hash studies; mrr_min/mrr_max optional), p10_share and sec_per_epoch (network), params and
# auc (kinds). Rows with
# method "popularity" are the floor. Rows repeated for one configuration (runs) are averaged.
#
# gnuplot comes from the Debian package gnuplot-nox, installed here when missing (apt-get as root,
# sudo when available; otherwise the script prints the apt-get line and stops).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dir=${1:-"$here/../docs/results"}
[ -d "$dir" ] || { echo "plot-results.sh: no folder $dir" >&2; exit 1; }
dir=$(cd "$dir" && pwd)

need_gnuplot() {
    command -v gnuplot >/dev/null 2>&1 && return 0
    echo "plot-results.sh: installing gnuplot-nox" >&2
    local apt=(env DEBIAN_FRONTEND=noninteractive apt-get)
    if [ "$(id -u)" -eq 0 ]; then
        "${apt[@]}" update -qq && "${apt[@]}" install -y -qq --no-install-recommends gnuplot-nox
    elif command -v sudo >/dev/null 2>&1; then
        sudo "${apt[@]}" update -qq && sudo "${apt[@]}" install -y -qq --no-install-recommends gnuplot-nox
    else
        echo "plot-results.sh: gnuplot is missing and I am neither root nor able to sudo. Run:" >&2
        echo "  apt-get update && apt-get install -y gnuplot-nox" >&2
        exit 1
    fi
}
need_gnuplot

tmp=$(mktemp -d)
[ -n "${PLOT_KEEP_TMP:-}" ] && echo "plot-results.sh: temporary files in $tmp" >&2 || trap 'rm -rf "$tmp"' EXIT

# The awk prologue every reader shares: col["name"] = field number, from the header line; die
# when a required column is absent. Fields are split on commas (bloom's CSVs quote nothing).
awk_header='
BEGIN { FS = ","; ns = 0; nh = 0; nm = 0 }  # counters start as numbers: an unset one indexes as ""
NR == 1 {
    for (i = 1; i <= NF; ++i) { gsub(/\r|^ +| +$/, "", $i); col[$i] = i }
    n = split(required, req, " ")
    for (i = 1; i <= n; ++i)
        if (!(req[i] in col)) {
            printf "plot-results.sh: %s has no column \"%s\"\n", FILENAME, req[i] > "/dev/stderr"
            bad = 1; exit 1
        }
    next
}
{ gsub(/\r/, "") }
'

common_style() {  # title xlabel ylabel
    cat <<EOF
set terminal svg size 960,600 dynamic noenhanced font "sans,13" background rgb "white"
set title "$1" font "sans,15"
set xlabel "$2"
set ylabel "$3"
set grid ytics lc rgb "#dddddd"
set border 3
set tics nomirror
set key outside right top box opaque
EOF
}

# --- hash studies -------------------------------------------------------------------------------

# hash_study CSV SVG TITLE: MRR mean and min..max per hash policy, a series per ratio (and method).
hash_study() {
    local csv=$1 svg=$2 title=$3
    if [ ! -f "$csv" ]; then
        echo "plot-results.sh: skipping $(basename "$svg"): $(basename "$csv") is absent" >&2
        return 0
    fi
    local data="$tmp/hash.dat" meta="$tmp/hash.meta"
    # data: one gnuplot block per series ("# series" line first), rows: x  label  mean  low  high.
    # meta: hashes in order of first appearance (x = 0, 1, ...), series names, the full row's MRR.
    awk -v required="method hash ratio mrr" -v data="$data" -v meta="$meta" "$awk_header"'
    {
        method = $col["method"]; hash = $col["hash"]; ratio = $col["ratio"] + 0; v = $col["mrr"] + 0
        if (method == "popularity") next
        if (hash == "-" || hash == "" || ratio >= 1) { full_sum += v; ++full_n; next }
        if (!(hash in hx)) { hx[hash] = nh; hname[nh++] = hash }
        if (!(method in seen_m)) { seen_m[method] = 1; ++nm }
        s = method SUBSEP ratio
        if (!(s in sx)) { sx[s] = ns; smethod[ns] = method; sratio[ns] = ratio; ++ns }
        g = s SUBSEP hash
        sum[g] += v; ++cnt[g]
        if (!(g in lo) || v < lo[g]) lo[g] = v
        if (!(g in hi) || v > hi[g]) hi[g] = v
        if ("mrr_min" in col && !("hash_seed" in col)) { lo[g] = $col["mrr_min"] + 0; hi[g] = $col["mrr_max"] + 0 }
    }
    END {
        if (bad) exit 1
        # series sorted by method, then ratio
        for (i = 0; i < ns; ++i) order[i] = i
        for (i = 1; i < ns; ++i) for (j = i; j > 0; --j) {
            a = order[j - 1]; b = order[j]
            if (smethod[a] > smethod[b] || (smethod[a] == smethod[b] && sratio[a] > sratio[b])) {
                order[j - 1] = b; order[j] = a
            } else break
        }
        for (t = 0; t < ns; ++t) {
            i = order[t]
            name = (nm > 1 ? smethod[i] ", " : "") "m/d = " sratio[i]
            printf "%s\n", name > meta
            off = ns > 1 ? (t - (ns - 1) / 2) * 0.6 / ns : 0
            if (t) printf "\n\n" > data
            printf "# %s\n", name > data
            for (h = 0; h < nh; ++h) {
                g = smethod[i] SUBSEP sratio[i] SUBSEP hname[h]
                if (!(g in cnt)) continue
                printf "%.4f %s %.6f %.6f %.6f %d\n", h + off, hname[h], sum[g] / cnt[g], lo[g], hi[g], cnt[g] > data
            }
        }
        printf "#hashes" > meta
        for (h = 0; h < nh; ++h) printf " %s", hname[h] > meta
        printf "\n#full %s\n", full_n ? sprintf("%.4f", full_sum / full_n) : "-" > meta
        printf "#runs %d\n", cnt[smethod[order[0]] SUBSEP sratio[order[0]] SUBSEP hname[0]] > meta
    }' "$csv"
    local hashes full runs xtics="" i=0 h plots="" b=0 name
    hashes=$(sed -n 's/^#hashes //p' "$meta")
    full=$(sed -n 's/^#full //p' "$meta")
    runs=$(sed -n 's/^#runs //p' "$meta")
    for h in $hashes; do xtics+="${xtics:+, }\"$h\" $i"; i=$((i + 1)); done
    while IFS= read -r name; do
        plots+="${plots:+, }'$data' index $b using 1:3:4:5 with yerrorbars pt 7 ps 0.8 lw 1.5 title '$name'"
        b=$((b + 1))
    done < <(grep -v '^#' "$meta")
    local sub="mean of $runs runs per point (hash seeds), bars: min..max"
    [ "$full" != "-" ] && sub+="; uncompressed (ratio 1) MRR $full"
    {
        common_style "$title\n$sub" "hash policy" "MRR (mean over test users)"
        echo "set xtics ($xtics) rotate by -35 left"
        echo "set xrange [-0.6:$((i - 1)).6]"
        echo "set bmargin 6"
        echo "plot $plots"
    } > "$tmp/hash.gp"
    gnuplot "$tmp/hash.gp" > "$svg"
    echo "plot-results.sh: wrote $svg"
}

hash_study "$dir/hash-study-factorization-runs.csv" "$dir/hash-study-factorization.svg" \
    "Hash policies, factorization model on MovieLens 100K (Bloom user and item tables, k = 4)"
hash_study "$dir/hash-study-network.csv" "$dir/hash-study-network.svg" \
    "Hash policies, Bloom network"

# --- the network experiment: accuracy share and speed-up against m/d -----------------------------

# network_curves CSV NAME: NAME-p10-share.svg and NAME-speedup.svg.
network_curves() {
    local csv=$1 name=$2
    if [ ! -f "$csv" ]; then
        echo "plot-results.sh: skipping $name-p10-share.svg and $name-speedup.svg: $(basename "$csv") is absent" >&2
        return 0
    fi
    local data="$tmp/$name.dat" meta="$tmp/$name.meta"
    # data blocks, one per method+hash (ratio < 1), rows: ratio  p10_share  speed-up
    awk -v required="method hash ratio sec_per_epoch p10_share" -v data="$data" -v meta="$meta" "$awk_header"'
    {
        method = $col["method"]; hash = $col["hash"]; ratio = $col["ratio"] + 0
        share = $col["p10_share"] + 0; sec = $col["sec_per_epoch"] + 0
        if (method == "popularity") { pop_sum += share; ++pop_n; next }
        if (ratio >= 1) { base[method] += sec; ++nbase[method]; all_base += sec; ++all_n; next }
        s = method (hash == "-" || hash == "" ? "" : ", " hash)
        if (!(s in sx)) { sx[s] = ns; sname[ns] = s; smethod[ns] = method; ++ns }
        g = s SUBSEP ratio
        if (!(g in cnt)) { nr[s]++; rlist[s, nr[s]] = ratio }
        if (xmin == "" || ratio < xmin) xmin = ratio
        sh[g] += share; t[g] += sec; ++cnt[g]
    }
    END {
        if (bad) exit 1
        for (i = 0; i < ns; ++i) {
            s = sname[i]; m = smethod[i]
            ref = nbase[m] ? base[m] / nbase[m] : (all_n ? all_base / all_n : 0)
            # ratios ascending
            n = nr[s]
            for (a = 1; a <= n; ++a) r[a] = rlist[s, a]
            for (a = 2; a <= n; ++a) for (b = a; b > 1 && r[b - 1] > r[b]; --b) { x = r[b]; r[b] = r[b - 1]; r[b - 1] = x }
            if (i) printf "\n\n" > data
            printf "# %s\n", s > data
            for (a = 1; a <= n; ++a) {
                g = s SUBSEP r[a]
                sp = (ref > 0 && t[g] > 0) ? ref / (t[g] / cnt[g]) : 0
                printf "%g %.6f %.6f\n", r[a], sh[g] / cnt[g], sp > data
            }
            printf "%s\n", s > meta
        }
        printf "#pop %s\n", pop_n ? sprintf("%.4f", 100 * pop_sum / pop_n) : "-" > meta
        printf "#base %s\n", all_n ? "yes" : "-" > meta
        printf "#xmin %g\n", xmin > meta
    }' "$csv"
    local pop base xmin b=0 s share_plots="" speed_plots=""
    xmin=$(sed -n 's/^#xmin //p' "$meta")
    pop=$(sed -n 's/^#pop //p' "$meta")
    base=$(sed -n 's/^#base //p' "$meta")
    while IFS= read -r s; do
        share_plots+="${share_plots:+, }'$data' index $b using 1:(100*\$2) with linespoints pt 7 ps 0.8 lw 2 title '$s'"
        speed_plots+="${speed_plots:+, }'$data' index $b using 1:3 with linespoints pt 7 ps 0.8 lw 2 title '$s'"
        b=$((b + 1))
    done < <(grep -v '^#' "$meta")
    if [ -z "$share_plots" ]; then
        echo "plot-results.sh: $(basename "$csv") has no compressed rows (ratio < 1); nothing to draw" >&2
        return 0
    fi
    share_plots+=", 100 with lines dt 2 lw 1.5 lc rgb '#444444' title 'uncompressed (m/d = 1)'"
    [ "$pop" != "-" ] && share_plots+=", $pop with lines dt 3 lw 1.5 lc rgb '#aa0000' title 'popularity floor'"
    {
        common_style "P@10 as a share of the uncompressed model ($(basename "$csv"))" \
            "m/d (compressed rows / ids), log scale" "P@10 share of uncompressed"
        echo "set logscale x"
        echo "set xrange [$xmin/1.5:1.5]"
        echo "set yrange [0:*]"
        echo "set format y '%.0f%%'"
        echo "plot $share_plots"
    } > "$tmp/$name-share.gp"
    gnuplot "$tmp/$name-share.gp" > "$dir/$name-p10-share.svg"
    echo "plot-results.sh: wrote $dir/$name-p10-share.svg"
    if [ "$base" = "-" ]; then
        echo "plot-results.sh: skipping $name-speedup.svg: $(basename "$csv") has no uncompressed row (ratio 1)" >&2
        return 0
    fi
    speed_plots+=", 1 with lines dt 2 lw 1.5 lc rgb '#444444' title 'uncompressed speed'"
    {
        common_style "Epoch-time speed-up over the uncompressed model ($(basename "$csv"))" \
            "m/d (compressed rows / ids), log scale" "uncompressed s/epoch / s/epoch"
        echo "set logscale x"
        echo "set xrange [$xmin/1.5:1.5]"
        echo "set yrange [0:*]"
        echo "plot $speed_plots"
    } > "$tmp/$name-speed.gp"
    gnuplot "$tmp/$name-speed.gp" > "$dir/$name-speedup.svg"
    echo "plot-results.sh: wrote $dir/$name-speedup.svg"
}

network_curves "$dir/network-ml100k.csv" network-ml100k
network_curves "$dir/network-synthetic.csv" network-synthetic

# --- embedding kinds against their parameter budget ----------------------------------------------

# kinds_sweep CSV NAME TITLE: NAME-auc.svg and NAME-mrr.svg, the metric (mean over the CSV's rows of
# one method and parameter count: its seeds) against the model's learned parameters (log axis), a
# line per method; the popularity floor as a horizontal line, the full table as a point.
kinds_sweep() {
    local csv=$1 name=$2 title=$3
    if [ ! -f "$csv" ]; then
        echo "plot-results.sh: skipping $name-auc.svg and $name-mrr.svg: $(basename "$csv") is absent" >&2
        return 0
    fi
    local metric
    for metric in auc mrr; do
        local data="$tmp/$name-$metric.dat" meta="$tmp/$name-$metric.meta"
        # data blocks, one per method, rows: params  mean  min  max  runs (params ascending)
        awk -v required="method params $metric" -v m="$metric" -v data="$data" -v meta="$meta" "$awk_header"'
        {
            method = $col["method"]; v = $col[m] + 0
            if (method == "popularity") { pop_sum += v; ++pop_n; next }
            p = $col["params"] + 0
            if (!(method in mx)) { mx[method] = nm; mname[nm++] = method }
            g = method SUBSEP p
            if (!(g in cnt)) { np[method]++; plist[method, np[method]] = p }
            sum[g] += v; ++cnt[g]
            if (!(g in lo) || v < lo[g]) lo[g] = v
            if (!(g in hi) || v > hi[g]) hi[g] = v
        }
        END {
            if (bad) exit 1
            for (i = 0; i < nm; ++i) {
                s = mname[i]; n = np[s]
                for (a = 1; a <= n; ++a) r[a] = plist[s, a]
                for (a = 2; a <= n; ++a) for (b = a; b > 1 && r[b - 1] > r[b]; --b) { x = r[b]; r[b] = r[b - 1]; r[b - 1] = x }
                if (i) printf "\n\n" > data
                printf "# %s\n", s > data
                for (a = 1; a <= n; ++a) {
                    g = s SUBSEP r[a]
                    printf "%g %.6f %.6f %.6f %d\n", r[a], sum[g] / cnt[g], lo[g], hi[g], cnt[g] > data
                }
                printf "%s\n", s > meta
            }
            printf "#pop %s\n", pop_n ? sprintf("%.6f", pop_sum / pop_n) : "-" > meta
        }' "$csv"
        local pop b=0 s plots=""
        # a colour and a point shape of its own for each of up to 14 kinds
        local colours=("#000000" "#e41a1c" "#377eb8" "#4daf4a" "#984ea3" "#ff7f00" "#a65628"
                       "#f781bf" "#999999" "#66c2a5" "#b8860b" "#1f3a93" "#d62728" "#17becf")
        pop=$(sed -n 's/^#pop //p' "$meta")
        while IFS= read -r s; do
            plots+="${plots:+, }'$data' index $b using 1:2:3:4 with yerrorlines lc rgb '${colours[$((b % 14))]}' pt $((b % 13 + 1)) ps 1 lw 2 dt $((b / 7 + 1)) title '$s'"
            b=$((b + 1))
        done < <(grep -v '^#' "$meta")
        if [ -z "$plots" ]; then
            echo "plot-results.sh: $(basename "$csv") has no trained rows; nothing to draw" >&2
            continue
        fi
        [ "$pop" != "-" ] && plots+=", $pop with lines dt 3 lw 1.5 lc rgb '#aa0000' title 'popularity floor'"
        local label
        label=$([ "$metric" = auc ] && echo "AUC (mean over test users)" || echo "MRR (mean over test users)")
        {
            common_style "$title\npoints: mean over seeds, bars: min..max" \
                "learned parameters of the user and item embeddings (biases not counted), log scale" "$label"
            echo "set logscale x"
            echo "set key outside right top box opaque"
            echo "plot $plots"
        } > "$tmp/$name-$metric.gp"
        gnuplot "$tmp/$name-$metric.gp" > "$dir/$name-$metric.svg"
        echo "plot-results.sh: wrote $dir/$name-$metric.svg"
    done
}

kinds_sweep "$dir/kinds-ml100k-runs.csv" kinds-ml100k \
    "Embedding kinds against their budget, factorization (BPR, dim 32) on MovieLens 100K"
kinds_sweep "$dir/kinds-synthetic-runs.csv" kinds-synthetic \
    "Embedding kinds against their budget, factorization (BPR, dim 32) on ML-1M-sized synthetic data"
kinds_sweep "$dir/kinds-ml100k-gmf-runs.csv" kinds-ml100k-gmf \
    "Embedding kinds against their budget, GMF with BCE (dim 32, 5 sampled negatives) on MovieLens 100K"
