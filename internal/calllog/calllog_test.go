package calllog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
)

func TestLog(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{AddSource: true, Level: slog.LevelWarn}))
	ctx := context.Background()

	Log(ctx, logger, slog.LevelInfo, "call", "Sum", 0.5, nil)
	if buf.Len() != 0 {
		t.Fatalf("a record below the handler's level was logged: %s", buf.String())
	}
	Log(ctx, logger, slog.LevelError, "call", "Sum", 0.5, errors.New("boom"), slog.String("code", "INTERNAL"))
	var rec map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if rec["msg"] != "call" || rec["level"] != "ERROR" || rec[OperationKey] != "Sum" || rec[DurationKey] != 0.5 ||
		rec["code"] != "INTERNAL" || rec[ErrorKey] != "boom" {
		t.Errorf("record %v", rec)
	}
	// No source position: the record's would be this package's on
	// every call, and finding it walks the stack.
	if src, ok := rec[slog.SourceKey].(map[string]any); ok && src["file"] != nil {
		t.Errorf("record has a source position: %v", src)
	}

	buf.Reset()
	Log(ctx, logger, slog.LevelWarn, "call", "Sum", 1, nil)
	rec = nil
	if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
		t.Fatalf("%v: %s", err, buf.String())
	}
	if _, ok := rec[ErrorKey]; ok {
		t.Errorf("a call without an error has %q: %v", ErrorKey, rec)
	}
}
