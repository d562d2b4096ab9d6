# The two commands a newcomer needs:
#   make demo   the server with a demo match of bots playing (Ctrl-C stops it)
#   make test   every test, the way CI runs it (installs what it needs first)

SHELL := /bin/bash
GO ?= go
DEMO_BOTS ?= 6
# The dashboard token of the demo server (loopback only); pick your own otherwise.
DEMO_TOKEN ?= demo
DEMO_ADDR ?= 127.0.0.1:8080
SERVER_FLAGS ?=
# Fuzz budgets count executions, not seconds: a duration-based -fuzztime can
# end in a spurious "context deadline exceeded" (golang/go#75804).
FUZZTIME ?= 100000x
FRAME_FUZZTIME ?= 300x
SESSION_FUZZTIME ?= 20000x
# System packages the tests need on a fresh Debian machine: nginx and
# chromium for the proxy and dashboard tests; redis-server for the fleet
# tests; Xvfb, Mesa's software OpenGL and the X11 libraries Ebiten loads at
# run time (it builds without cgo) for the desktop client's window test.
APT_PACKAGES := nginx chromium redis-server xvfb xauth libgl1 libglx-mesa0 libgl1-mesa-dri libx11-6 \
	libxrandr2 libxcursor1 libxi6 libxinerama1 libxext6 libxrender1

.PHONY: help demo build test setup vet race fuzz generate bench

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

build: ## build the server, the bots, the desktop client and the browser client (bin/play, served at /play) into ./bin
	@mkdir -p bin/play
	CGO_ENABLED=0 $(GO) build -o bin/server ./server
	CGO_ENABLED=0 $(GO) build -o bin/bots ./bots
	CGO_ENABLED=0 $(GO) build -o bin/client ./client
	GOOS=js GOARCH=wasm CGO_ENABLED=0 $(GO) build -trimpath -ldflags=-s -o bin/play/client.wasm ./client
	cp "$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js" bin/play/wasm_exec.js

demo: build ## run the server on 127.0.0.1:8080 (DEMO_ADDR) with DEMO_BOTS bots playing a match
	@# set -m: the demo runs as its own job in the terminal's foreground, so
	@# Ctrl-C stops the demo (which exits 0), not make.
	@DEMO_ADDR=$(DEMO_ADDR) DEMO_BOTS=$(DEMO_BOTS) DEMO_TOKEN=$(DEMO_TOKEN) SERVER_FLAGS='$(SERVER_FLAGS)' \
	  bash -c 'set -m; ./scripts/demo.sh; rc=$$?; exit $$rc'

setup: ## install the system packages the tests need (Debian, as root or with sudo)
	@if [ -n "$(strip $(APT_PACKAGES))" ]; then \
	  missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	  if [ -n "$$missing" ]; then \
	    SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	    $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	  fi; \
	fi

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { echo "gofmt needed:"; gofmt -l .; exit 1; }

race:
	$(GO) test -race -timeout 20m ./...

fuzz: ## run every fuzz target FUZZTIME executions (seed corpora always run in `race`)
	$(GO) test -run XXX -fuzz '^FuzzStateDecode$$' -fuzztime $(FUZZTIME) ./netcode
	$(GO) test -run XXX -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) ./netcode
	$(GO) test -run XXX -fuzz '^FuzzDecodeServer$$' -fuzztime $(FUZZTIME) ./netcode
	$(GO) test -run XXX -fuzz '^FuzzFrames$$' -fuzztime $(FRAME_FUZZTIME) ./netcode/wsconn
	$(GO) test -run XXX -fuzz '^FuzzSession$$' -fuzztime $(SESSION_FUZZTIME) ./server/gateway
	$(GO) test -run XXX -fuzz '^FuzzSplit$$' -fuzztime $(FUZZTIME) ./netcode/pollconn
	$(GO) test -run XXX -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./server/token

test: setup vet race fuzz ## every test: vet, gofmt, go test -race ./..., a short fuzz of each decoder

bench: ## the micro-benchmarks behind benchmarks/README.md
	$(GO) test -run XXX -bench . -benchtime 2s ./sim ./netcode ./netcode/outbox ./server/room

generate: ## rebuild proto/arenapb from proto/arena.proto
	@command -v protoc >/dev/null || { SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get install -y -qq protobuf-compiler; }
	$(GO) install google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" $(GO) generate ./proto
