package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/obskit/obskit/middleware"
)

// errorBody is the JSON of a failed call.
type errorBody struct {
	Error string `json:"error"`
}

// newMux routes the endpoints: POST /sum and POST /concat.
func newMux(eps Endpoints) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle("POST /sum", handleJSON(eps.Sum))
	mux.Handle("POST /concat", handleJSON(eps.Concat))
	return mux
}

// handleJSON serves one endpoint over HTTP: the request body is decoded
// into Req, the response encoded as JSON. A malformed body (unknown
// fields and anything after the JSON object included) is a 400, a
// business error a 422 and an endpoint error a 500.
func handleJSON[Req any, Resp middleware.Failer](ep middleware.Endpoint[Req, Resp]) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req Req
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&req); err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{fmt.Sprintf("decode request: %v", err)})
			return
		}
		if _, err := dec.Token(); err != io.EOF {
			writeJSON(w, http.StatusBadRequest, errorBody{"decode request: data after the JSON object"})
			return
		}
		resp, err := ep(r.Context(), req)
		switch {
		case err != nil:
			writeJSON(w, http.StatusInternalServerError, errorBody{err.Error()})
		case resp.Failed() != nil:
			writeJSON(w, http.StatusUnprocessableEntity, errorBody{resp.Failed().Error()})
		default:
			writeJSON(w, http.StatusOK, resp)
		}
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
