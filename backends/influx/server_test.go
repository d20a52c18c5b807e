package influx

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/obskit/obskit/internal/itest"
)

// server is an InfluxDB 1.x HTTP API the tests write to and query.
type server struct {
	url string
}

// sharedServer returns the InfluxDB that scripts/backend started, or
// skips (fails under CI=true) when it is absent.
func sharedServer(t *testing.T) *server {
	t.Helper()
	return &server{url: itest.URL(t, "influxdb", "http://127.0.0.1:18086", "/ping")}
}

// newDatabase creates a database of its own for one test and drops it
// when the test ends.
func (s *server) newDatabase(t *testing.T) string {
	t.Helper()
	db := fmt.Sprintf("obskit_%s_%08x", strings.ToLower(strings.NewReplacer("/", "_", " ", "_", "-", "_").Replace(t.Name())), rand.Uint32())
	if _, err := s.query("", fmt.Sprintf("CREATE DATABASE %q", db), http.MethodPost); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { s.query("", fmt.Sprintf("DROP DATABASE %q", db), http.MethodPost) })
	return db
}

// series is one series of a /query answer.
type series struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	Values  [][]any           `json:"values"`
}

// column returns the value of the named column in the first row.
func (r series) column(name string) (float64, error) {
	for i, c := range r.Columns {
		if c != name {
			continue
		}
		if len(r.Values) == 0 {
			return 0, fmt.Errorf("series %s %v has no rows", r.Name, r.Tags)
		}
		v, ok := r.Values[0][i].(float64)
		if !ok {
			return 0, fmt.Errorf("series %s %v column %s = %v (%T)", r.Name, r.Tags, name, r.Values[0][i], r.Values[0][i])
		}
		return v, nil
	}
	return 0, fmt.Errorf("series %s has no column %s (%v)", r.Name, name, r.Columns)
}

// query runs one InfluxQL statement (GET for SELECT and SHOW, POST for
// the others, as InfluxDB 1.x wants) and returns its series.
func (s *server) query(db, q, method string) ([]series, error) {
	v := url.Values{"q": {q}}
	if db != "" {
		v.Set("db", db)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var req *http.Request
	var err error
	if method == http.MethodPost {
		req, err = http.NewRequestWithContext(ctx, method, s.url+"/query", strings.NewReader(v.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		req, err = http.NewRequestWithContext(ctx, method, s.url+"/query?"+v.Encode(), nil)
	}
	if err != nil {
		return nil, err
	}
	resp, err := queryClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	var out struct {
		Results []struct {
			Series []series `json:"series"`
			Error  string   `json:"error"`
		} `json:"results"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("%s: %s: %v", q, body, err)
	}
	if out.Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Error)
	}
	if resp.StatusCode/100 != 2 || len(out.Results) != 1 {
		return nil, fmt.Errorf("%s: %s: %s", q, resp.Status, body)
	}
	if out.Results[0].Error != "" {
		return nil, fmt.Errorf("%s: %s", q, out.Results[0].Error)
	}
	return out.Results[0].Series, nil
}

// selectAll runs q, which should GROUP BY *, and returns its series.
func (s *server) selectAll(t *testing.T, db, q string) []series {
	t.Helper()
	rs, err := s.query(db, q, http.MethodGet)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

// sumOf returns sum(field) of a measurement across all its series.
func (s *server) sumOf(t *testing.T, db, measurement, field string) float64 {
	t.Helper()
	rs := s.selectAll(t, db, fmt.Sprintf(`SELECT sum(%q) FROM %q`, field, measurement))
	if len(rs) == 0 {
		return 0
	}
	v, err := rs[0].column("sum")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// queryClient keeps no idle connections, so that goleak sees none.
var queryClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
