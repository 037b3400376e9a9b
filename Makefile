# The two commands of the quick start: `make demo` and `make test`.
.PHONY: demo test deps lint fmt bench

demo:
	scripts/demo.sh

test:
	scripts/test.sh

deps:
	scripts/deps.sh

lint:
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

fmt:
	cargo fmt --all

bench:
	cargo build --release --workspace --bins
	target/release/daa bench fleet
