package mesh

import (
	"context"
	"io"
	"log"
	"log/slog"
	"strings"
)

// stdLogger adapts l for memberlist, which logs through a *log.Logger: every line becomes a
// debug record "memberlist" with the line in attribute "line". nil discards.
func stdLogger(l *slog.Logger) *log.Logger {
	if l == nil {
		return log.New(io.Discard, "", 0)
	}
	return log.New(slogWriter{l}, "", 0)
}

type slogWriter struct{ l *slog.Logger }

func (w slogWriter) Write(p []byte) (int, error) {
	ctx := context.Background()
	if w.l.Enabled(ctx, slog.LevelDebug) {
		w.l.LogAttrs(ctx, slog.LevelDebug, "memberlist", slog.String("line", strings.TrimRight(string(p), "\n")))
	}
	return len(p), nil
}
