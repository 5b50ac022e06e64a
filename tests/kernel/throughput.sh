#!/usr/bin/env bash
# throughput.sh DIR: kalloc + kfree calls per second of the simulated
# multiprocessor's bench (sim --case=bench: the mix, a quarter of the frees
# on another CPU, light tags) on 1, 2, 4 and 8 CPUs, the per-CPU build
# (DIR/sim) next to the single-lock build of the same structures
# (DIR/sim-single). Five rounds; within a round the two builds alternate
# at each CPU count, so that load from elsewhere on the machine hits both
# alike; the median of the five is reported. Fails if a run fails.
set -u
dir=$1
calls=${CALLS:-2000000}
rounds=5
status=0
declare -A got

for round in $(seq $rounds); do
    for n in 1 2 4 8; do
        for build in sim sim-single; do
            out=$("$dir/$build" --case=bench --cpus="$n" --ops=$((calls / n)) 2>&1)
            if [ $? -ne 0 ]; then
                echo "$build --cpus=$n failed:"
                echo "$out" | tail -20
                status=1
            fi
            rate=$(echo "$out" | sed -n 's/.*calls_per_sec=\([0-9]*\).*/\1/p')
            got[$build,$n]="${got[$build,$n]:-} ${rate:-0}"
        done
    done
done

median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
figures=
for n in 1 2 4 8; do
    per_cpu=$(echo "${got[sim,$n]}" | median)
    single=$(echo "${got[sim-single,$n]}" | median)
    echo "cpus=$n calls/s per-cpu:${got[sim,$n]} single-lock:${got[sim-single,$n]}"
    figures="$figures c$n=$(awk -v a="$per_cpu" -v b="$single" 'BEGIN { printf "%.1f/%.1f", a / 1e6, b / 1e6 }')"
done
echo "FIGURES: Mcalls/s per-cpu/single-lock$figures"
exit $status
