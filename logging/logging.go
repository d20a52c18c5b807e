package logging

import (
	"io"
	"log/slog"
	"os"
)

// Options configures New. The zero value logs records at Info and above
// as JSON.
type Options struct {
	// Level is the minimum level logged; nil means slog.LevelInfo. A
	// *slog.LevelVar changes it while the program runs.
	Level slog.Leveler

	// Text selects slog's key=value text format instead of JSON.
	Text bool

	// AddSource adds the source file and line of the log call.
	AddSource bool

	// ReplaceAttr, if set, rewrites or drops attributes before they are
	// written, as in slog.HandlerOptions. It sees the trace IDs too.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
}

// New returns a logger that writes to w (os.Stdout when nil) in JSON, or
// text with opts.Text, and adds the trace and span IDs of the context's
// span to every record logged with a context, through TraceHandler.
func New(w io.Writer, opts Options) *slog.Logger {
	if w == nil {
		w = os.Stdout
	}
	ho := &slog.HandlerOptions{
		Level:       opts.Level,
		AddSource:   opts.AddSource,
		ReplaceAttr: opts.ReplaceAttr,
	}
	var h slog.Handler
	if opts.Text {
		h = slog.NewTextHandler(w, ho)
	} else {
		h = slog.NewJSONHandler(w, ho)
	}
	return slog.New(NewTraceHandler(h))
}
