# The two commands of the README. Each sets up what it needs (pip, cargo) on a fresh machine.
.PHONY: run test chaos bench pgo build clean-data

## make run: Temporal dev server (if none answers) + search attributes + release worker.
run:
	@bash scripts/run.sh

## make test: the whole suite against real servers the tests start themselves.
test:
	@bash scripts/test.sh

## make chaos [PROFILE=ci|soak] [SEED=N] [BILLING=per-customer|bulk]: the system under random faults; fails on any lost or
## duplicated effect (see README, "Proof under faults").
chaos:
	@bash scripts/chaos.sh

## make bench [BENCH_ARGS=...] [PGO=1]: throughput against other SDKs, schedule lag, recovery after a
## SIGKILL; prints Markdown tables (see BENCHMARKS.md). Not a test: it asserts nothing. PGO=1 first
## runs `make pgo` (unless target/pgo/punctual was built from this very tree) and adds its binary
## to the throughput table.
bench:
	@bash scripts/bench.sh

## make pgo [PGO_LTO=fat] [PGO_STATIC=1]: profile-guided release build, trained on the bench load and
## the chaos runs, with the functions that ran linked together, into target/pgo/punctual (~45 min;
## BENCHMARKS.md, "Profile-guided optimisation", "Function order" and "Static glibc").
pgo:
	@bash scripts/build-pgo.sh

build:
	cargo build --release -p punctual-worker

## Forget the local server's history and the ledger (.data/).
clean-data:
	rm -rf .data
