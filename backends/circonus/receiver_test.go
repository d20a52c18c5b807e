package circonus

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/circonus-labs/circonusllhist"
)

// receiver is an HTTPTrap on 127.0.0.1 that accepts exactly what
// circonus-gometrics sends (submit.go and circonus-gometrics.go of
// v2.3.1): a PUT to the submission path, Content-Type and Accept
// application/json, a JSON object whose every member is
// {"_type": T, "_value": V} with T "L" for counters, one of "i", "I",
// "l", "L", "n" for gauges, and "n" with a list of "H[<bin>]=<count>"
// strings for histograms. Anything else is answered 400 and fails the
// test. It answers 200 {"stats":N}, as a broker does (or 204 as a
// circonus-agent does, with noContent), or the status fail returns.
type receiver struct {
	t    *testing.T
	srv  *httptest.Server
	path string

	mu        sync.Mutex
	counters  map[string]uint64
	gauges    map[string]float64
	hists     map[string]map[string]int64 // name → bin → count
	puts      int
	noContent bool
	fail      int // answer this status instead, when not 0
}

var binRE = regexp.MustCompile(`^H\[(-?[0-9]\.[0-9]e[+-][0-9]{2,3}|0)\]=([0-9]+)$`)

func newReceiver(t *testing.T, tls bool) *receiver {
	r := &receiver{t: t, path: "/module/httptrap/0c1f2e3d-4b5a-6978-8a9b-0c1d2e3f4a5b/secret",
		counters: map[string]uint64{}, gauges: map[string]float64{}, hists: map[string]map[string]int64{}}
	h := http.HandlerFunc(r.serve)
	if tls {
		r.srv = httptest.NewTLSServer(h)
	} else {
		r.srv = httptest.NewServer(h)
	}
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url() string { return r.srv.URL + r.path }

func (r *receiver) reject(w http.ResponseWriter, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.t.Errorf("receiver: %s", msg)
	http.Error(w, msg, http.StatusBadRequest)
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != 0 {
		w.WriteHeader(r.fail)
		fmt.Fprintf(w, `{"error":"trap answers %d"}`, r.fail)
		return
	}
	switch {
	case req.Method != http.MethodPut:
		r.reject(w, "method %s, want PUT", req.Method)
		return
	case req.URL.Path != r.path:
		r.reject(w, "path %s, want %s", req.URL.Path, r.path)
		return
	case req.Header.Get("Content-Type") != "application/json":
		r.reject(w, "Content-Type %q", req.Header.Get("Content-Type"))
		return
	case req.Header.Get("Accept") != "application/json":
		r.reject(w, "Accept %q", req.Header.Get("Accept"))
		return
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		r.reject(w, "body: %v", err)
		return
	}
	var metrics map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&metrics); err != nil {
		r.reject(w, "body is not a JSON object: %v: %s", err, body)
		return
	}
	for name, raw := range metrics {
		if err := r.record(name, raw); err != nil {
			r.reject(w, "%s: %v: %s", name, err, raw)
			return
		}
	}
	r.puts++
	if r.noContent {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, `{"stats":%d}`, len(metrics))
}

func (r *receiver) record(name string, raw json.RawMessage) error {
	if _, _, err := parseName(name); err != nil {
		return err
	}
	var m struct {
		Type  *string         `json:"_type"`
		Value json.RawMessage `json:"_value"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil || m.Type == nil || m.Value == nil {
		return fmt.Errorf("not {\"_type\":…,\"_value\":…}: %v", err)
	}
	switch *m.Type {
	case "L":
		var v uint64
		if err := json.Unmarshal(m.Value, &v); err == nil {
			r.counters[name] += v
			return nil
		}
		return fmt.Errorf("type L with value %s", m.Value)
	case "i", "I", "l":
		v, err := strconv.ParseInt(string(m.Value), 10, 64)
		if err != nil {
			return fmt.Errorf("type %s with value %s", *m.Type, m.Value)
		}
		r.gauges[name] = float64(v)
		return nil
	case "n":
		if len(m.Value) > 0 && m.Value[0] == '[' {
			var bins []string
			if err := json.Unmarshal(m.Value, &bins); err != nil {
				return err
			}
			if _, err := circonusllhist.NewFromStrings(bins, false); err != nil {
				return fmt.Errorf("histogram does not decode: %v", err)
			}
			h := r.hists[name]
			if h == nil {
				h = map[string]int64{}
				r.hists[name] = h
			}
			for _, b := range bins {
				sm := binRE.FindStringSubmatch(b)
				if sm == nil {
					return fmt.Errorf("histogram bin %q", b)
				}
				n, _ := strconv.ParseInt(sm[2], 10, 64)
				h["H["+sm[1]+"]"] += n
			}
			return nil
		}
		var v float64
		if err := json.Unmarshal(m.Value, &v); err != nil {
			return fmt.Errorf("type n with value %s", m.Value)
		}
		r.gauges[name] = v
		return nil
	}
	return fmt.Errorf("unknown _type %q", *m.Type)
}

// parseName splits "name|ST[k:v,…]" and decodes b"…" values.
func parseName(s string) (string, map[string]string, error) {
	name, tags, ok := strings.Cut(s, "|ST[")
	if !ok {
		if strings.ContainsAny(s, "|[],:") {
			return "", nil, fmt.Errorf("name %q", s)
		}
		return s, nil, nil
	}
	if !strings.HasSuffix(tags, "]") {
		return "", nil, fmt.Errorf("stream tags of %q do not end in ]", s)
	}
	out := map[string]string{}
	for _, tag := range strings.Split(strings.TrimSuffix(tags, "]"), ",") {
		k, v, ok := strings.Cut(tag, ":")
		if !ok || k == "" || strings.ContainsAny(v, ":[]|,") {
			return "", nil, fmt.Errorf("tag %q of %q", tag, s)
		}
		if strings.HasPrefix(v, `b"`) {
			if !strings.HasSuffix(v, `"`) || len(v) < 3 {
				return "", nil, fmt.Errorf("tag %q of %q", tag, s)
			}
			d, err := base64.StdEncoding.DecodeString(v[2 : len(v)-1])
			if err != nil {
				return "", nil, fmt.Errorf("tag %q: %v", tag, err)
			}
			v = string(d)
		} else {
			for i := 0; i < len(v); i++ {
				if v[i] <= ' ' || v[i] >= 0x7f {
					return "", nil, fmt.Errorf("tag %q of %q has an unencoded byte %#x", tag, s, v[i])
				}
			}
		}
		if _, dup := out[k]; dup {
			return "", nil, fmt.Errorf("tag %q twice in %q", k, s)
		}
		out[k] = v
	}
	return name, out, nil
}

// histogram returns what the receiver holds of one histogram.
func (r *receiver) histogram(name string) (*circonusllhist.Histogram, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	h, ok := r.hists[name]
	if !ok {
		return nil, false
	}
	llh := circonusllhist.New()
	for b, n := range h {
		v, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimPrefix(b, "H["), "]"), 64)
		if err != nil {
			r.t.Fatalf("histogram %s bin %s: %v", name, b, err)
		}
		// A bin's value is its lower bound, which falls in the bin itself.
		llh.RecordValues(v, n)
	}
	return llh, true
}

func (r *receiver) counter(name string) (uint64, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	v, ok := r.counters[name]
	return v, ok
}

func (r *receiver) setFail(status int) { r.mu.Lock(); r.fail = status; r.mu.Unlock() }

func (r *receiver) names() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for n := range r.counters {
		out = append(out, n)
	}
	for n := range r.gauges {
		out = append(out, n)
	}
	for n := range r.hists {
		out = append(out, n)
	}
	return out
}
