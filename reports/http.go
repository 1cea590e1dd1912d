package reports

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"
)

// KPIHandler serves the KPI report live, from the process's own database
// handle (no second open of the warehouse):
//
//	GET /v1/reports/kpi?from=YYYY-MM-DD&to=YYYY-MM-DD&format=html|json|csv|md&channel=C&team=T&tz=ZONE
//
// from and to are inclusive days, each optional, in UTC or in tz (an IANA
// zone, see KPIOptions.Zone); channel and team may
// repeat. authorize wraps the handler with the caller's check (cxlake uses
// the privacy API's bearer token); it is required, so the report cannot be
// mounted unprotected. Errors are JSON {"error": "..."}: 400 for a bad date,
// range, format or parameter, 503 when the models have not been built yet,
// 500 otherwise (the cause goes to log, not to the client).
func KPIHandler(db *sql.DB, targets map[string]Target, authorize func(http.Handler) http.Handler, log *slog.Logger) http.Handler {
	if authorize == nil {
		panic("reports.KPIHandler: authorize is required")
	}
	return authorize(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		for k := range q {
			switch k {
			case "from", "to", "format", "channel", "team", "tz":
			default:
				httpError(w, http.StatusBadRequest, fmt.Errorf("unknown parameter %q: use from, to, format, channel, team, tz", k))
				return
			}
		}
		for _, k := range []string{"from", "to", "format", "tz"} {
			if len(q[k]) > 1 {
				httpError(w, http.StatusBadRequest, fmt.Errorf("parameter %s is given %d times: give it once", k, len(q[k])))
				return
			}
		}
		opts := KPIOptions{Format: q.Get("format"), Targets: targets,
			Filter: Filter{Channels: q["channel"], Teams: q["team"]}}
		if opts.Format == "" {
			opts.Format = "html"
		}
		var err error
		if opts.From, err = ParseDay("from", q.Get("from")); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		if opts.To, err = ParseDay("to", q.Get("to")); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		if opts.Zone, err = ParseZone("tz", q.Get("tz")); err != nil {
			httpError(w, http.StatusBadRequest, err)
			return
		}
		// Rendered in memory first, so that an error is a status, not half a page.
		var b bytes.Buffer
		err = KPI(r.Context(), db, &b, opts)
		var fe *FormatError
		var re *RangeError
		var me *MissingMartError
		var ze *ZoneError
		switch {
		case errors.As(err, &fe), errors.As(err, &re), errors.As(err, &ze):
			httpError(w, http.StatusBadRequest, err)
			return
		case errors.As(err, &me):
			httpError(w, http.StatusServiceUnavailable, errors.New("the KPI models are not built yet: try again after the first refresh"))
			return
		case err != nil:
			log.Error("serving the KPI report", "err", err)
			httpError(w, http.StatusInternalServerError, errors.New("the report could not be computed; see the server log"))
			return
		}
		w.Header().Set("Content-Type", KPIContentType(opts.Format))
		w.Header().Set("Cache-Control", "no-store")
		w.Write(b.Bytes())
	}))
}

// ParseDay reads a YYYY-MM-DD day for the field named field; "" is the zero
// time (an open side). The error names the field and the format, not the value.
func ParseDay(field, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s is not a date: write it as YYYY-MM-DD, e.g. 2026-11-01", field)
	}
	return t, nil
}

func httpError(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}
