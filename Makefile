# geomesh developer targets. `make test` is the README test command and what .ci/run calls.
GO            ?= go
STATICCHECK   := honnef.co/go/tools/cmd/staticcheck@v0.8.2
PROTOC_GEN_GO := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
FUZZTIME      ?= 30s
# Packages that run under the race detector (the core); the rest run without it to keep CI short.
RACE_PKGS     ?= ./...

.PHONY: all check test bench fuzz proto demo

all: check test

check:
	@out=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

test:
	$(GO) test -race -timeout 20m $(RACE_PKGS)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./matcher/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzBookApply -fuzztime $(FUZZTIME) ./matcher

# Regenerate the protobuf code. Needs protoc (Debian: protobuf-compiler); the plugin is pinned.
proto:
	@command -v protoc >/dev/null || { echo "protoc missing: apt-get install -y protobuf-compiler"; exit 1; }
	GOBIN=$(CURDIR)/.bin $(GO) install $(PROTOC_GEN_GO)
	PATH=$(CURDIR)/.bin:$$PATH protoc --proto_path=proto --go_out=proto --go_opt=paths=source_relative proto/*.proto

demo:
	$(GO) run ./cmd/regiond demo
