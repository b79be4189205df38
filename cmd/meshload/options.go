package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// options are meshload's settings, resolved from the flags.
type options struct {
	targets        []targetSpec
	demo           bool
	regions        []string // --demo, --cold-start-symbols
	demoSymbols    int
	accounts       int
	keysFile       string
	symbols        []string
	symbolsAuto    bool
	rate           float64
	duration       time.Duration
	warmup         time.Duration
	resp           []string
	wsFraction     float64
	wsConns        int
	httpConns      int
	mix            mix
	maxOpen        int
	mid            string
	levels         int64
	journal        string
	clean          bool
	retry          bool
	requestTimeout time.Duration
	recvWindow     int
	maxInFlight    int
	natsURL        string
	rawRate        float64
	rawSize        int
	rawReplicas    int
	output         string
	maxErrors      int64
	seed           uint64
	cpuProfile     string
	pprofAddr      string
	coldStart      int
	readyTimeout   time.Duration
	logLevel       string
}

// defaultKey is the development API key of deploy/local and `regiond` bootstrap_keys.
var defaultKey = account{id: 1, key: "localDevApiKey1", secret: []byte("localDevSecret1")}

func (o *options) validate() error {
	switch {
	case o.coldStart < 0:
		return errors.New("--cold-start-symbols: want a positive number")
	case o.coldStart > 0:
		return nil
	case o.rate <= 0:
		return errors.New("--rate: want a positive rate")
	case o.duration <= 0:
		return errors.New("--duration: want a positive duration")
	case o.warmup < 0:
		return errors.New("--warmup: want a duration >= 0")
	case o.wsFraction < 0 || o.wsFraction > 1:
		return errors.New("--ws-fraction: want a fraction in [0,1]")
	case o.wsConns < 1 || o.httpConns < 1 || o.maxInFlight < 1:
		return errors.New("--ws-conns, --http-conns and --max-inflight must be positive")
	case o.maxOpen < 1:
		return errors.New("--max-open: want a positive number")
	case o.requestTimeout <= 0:
		return errors.New("--request-timeout: want a positive duration")
	case o.output != "table" && o.output != "json":
		return fmt.Errorf("-o %q: want table or json", o.output)
	case o.rawRate < 0 || o.rawSize < 1:
		return errors.New("--raw-rate must be >= 0 and --raw-size positive")
	case !o.demo && len(o.targets) == 0:
		return errors.New("no --target given")
	case o.demo && o.demoSymbols < 1:
		return errors.New("--demo-symbols: want a positive number")
	case o.accounts < 0:
		return errors.New("--accounts: want a number >= 0")
	case o.levels < 1:
		return errors.New("--levels: want a positive number")
	}
	for _, r := range o.resp {
		if r != "ACK" && r != "RESULT" && r != "FULL" {
			return fmt.Errorf("--resp %q: want ACK, RESULT or FULL", r)
		}
	}
	if len(o.resp) == 0 {
		return errors.New("--resp: want at least one of ACK, RESULT, FULL")
	}
	return nil
}

// readKeys reads --keys: one "account,key,secret" line per account; blank lines and lines
// starting with # are skipped.
func readKeys(r io.Reader) ([]account, error) {
	var out []account
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) != 3 {
			return nil, fmt.Errorf("line %d: want account,key,secret", n)
		}
		id, err := strconv.ParseUint(strings.TrimSpace(f[0]), 10, 64)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("line %d: account %q: want a positive number", n, f[0])
		}
		key, secret := strings.TrimSpace(f[1]), strings.TrimSpace(f[2])
		if key == "" || secret == "" {
			return nil, fmt.Errorf("line %d: empty key or secret", n)
		}
		out = append(out, account{id: id, key: key, secret: []byte(secret)})
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New("no keys")
	}
	return out, nil
}

func readKeysFile(path string) ([]account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("--keys: %w", err)
	}
	defer f.Close()
	keys, err := readKeys(f)
	if err != nil {
		return nil, fmt.Errorf("--keys %s: %w", path, err)
	}
	return keys, nil
}
