package routes

// #include "route_registry.h"
import "C"

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// HealthStatus is a route's health: GoDoxy's bit flags. It marshals (JSON, text) as its
// name: "unknown", "healthy", "napping", "starting", "unhealthy", "error".
type HealthStatus uint32

// The health statuses (the header's RR_HEALTH_STATUS_* values).
const (
	StatusUnknown   HealthStatus = C.RR_HEALTH_STATUS_UNKNOWN
	StatusHealthy   HealthStatus = C.RR_HEALTH_STATUS_HEALTHY
	StatusNapping   HealthStatus = C.RR_HEALTH_STATUS_NAPPING
	StatusStarting  HealthStatus = C.RR_HEALTH_STATUS_STARTING
	StatusUnhealthy HealthStatus = C.RR_HEALTH_STATUS_UNHEALTHY
	StatusError     HealthStatus = C.RR_HEALTH_STATUS_ERROR

	// StatusGood is any of healthy, napping and starting.
	StatusGood = StatusHealthy | StatusNapping | StatusStarting
)

var healthNames = map[HealthStatus]string{
	StatusUnknown: "unknown", StatusHealthy: "healthy", StatusNapping: "napping",
	StatusStarting: "starting", StatusUnhealthy: "unhealthy", StatusError: "error",
}

func (s HealthStatus) String() string {
	if n, ok := healthNames[s]; ok {
		return n
	}
	return fmt.Sprintf("HealthStatus(%d)", uint32(s))
}

// Good says whether the status is healthy, napping or starting.
func (s HealthStatus) Good() bool { return s&StatusGood != 0 }

// MarshalText gives the status's name.
func (s HealthStatus) MarshalText() ([]byte, error) {
	if n, ok := healthNames[s]; ok {
		return []byte(n), nil
	}
	return nil, fmt.Errorf("routes: invalid health status %d", uint32(s))
}

// UnmarshalText parses a status name.
func (s *HealthStatus) UnmarshalText(b []byte) error {
	for k, n := range healthNames {
		if n == string(b) {
			*s = k
			return nil
		}
	}
	return fmt.Errorf("routes: invalid health status %q", b)
}

// HealthInfo is one route's health, as GoDoxy's type: encoding/json gives exactly the
// library's health JSON.
type HealthInfo struct {
	Status  HealthStatus  `json:"status"`
	Uptime  time.Duration `json:"uptime"`
	Latency time.Duration `json:"latency"`
	Detail  string        `json:"detail"`
}

// HealthInfoWithoutDetail is HealthInfo without the detail.
type HealthInfoWithoutDetail struct {
	Status  HealthStatus  `json:"status"`
	Uptime  time.Duration `json:"uptime"`
	Latency time.Duration `json:"latency"`
}

// HealthFormat selects a health map (HealthJSON).
type HealthFormat uint32

// The health JSON formats (the header's RR_HEALTH_* values).
const (
	HealthFull          HealthFormat = C.RR_HEALTH_FULL           // {"alias":{"status":..,"uptime":..,"latency":..,"detail":..}}
	HealthWithoutDetail HealthFormat = C.RR_HEALTH_WITHOUT_DETAIL // the same without "detail"
	HealthSimple        HealthFormat = C.RR_HEALTH_SIMPLE         // {"alias":"healthy"}
)

// UnmarshalJSON reads a HealthInfo as the library renders it. The library, like Go's
// encoding/json, writes each byte of the detail that is not valid UTF-8 as the escape
// \ufffd (a real U+FFFD is written as is); such an escape is read back as the byte 0xff, so
// that encoding/json of the result gives the library's bytes again.
func (h *HealthInfo) UnmarshalJSON(b []byte) error {
	var aux struct {
		Status  HealthStatus    `json:"status"`
		Uptime  time.Duration   `json:"uptime"`
		Latency time.Duration   `json:"latency"`
		Detail  json.RawMessage `json:"detail"`
	}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	detail, err := decodeDetail(aux.Detail)
	if err != nil {
		return err
	}
	*h = HealthInfo{Status: aux.Status, Uptime: aux.Uptime, Latency: aux.Latency, Detail: detail}
	return nil
}

func decodeDetail(raw []byte) (string, error) {
	var s string
	if len(raw) == 0 {
		return "", nil
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", err
	}
	if !bytes.Contains(raw, []byte(`\ufffd`)) {
		return s, nil
	}
	// The string is valid JSON (checked above): decode it again, keeping \ufffd apart.
	raw = raw[1 : len(raw)-1]
	out := make([]byte, 0, len(raw))
	for i := 0; i < len(raw); {
		c := raw[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		switch e := raw[i+1]; e {
		case 'u':
			r, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
			i += 6
			if r == 0xfffd && string(raw[i-4:i]) == "fffd" {
				out = append(out, 0xff)
				continue
			}
			if utf16.IsSurrogate(rune(r)) && i+6 <= len(raw) && raw[i] == '\\' && raw[i+1] == 'u' {
				r2, _ := strconv.ParseUint(string(raw[i+2:i+6]), 16, 32)
				if d := utf16.DecodeRune(rune(r), rune(r2)); d != utf8.RuneError {
					out = utf8.AppendRune(out, d)
					i += 6
					continue
				}
			}
			out = utf8.AppendRune(out, rune(r))
		default:
			out = append(out, map[byte]byte{'"': '"', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}[e])
			i += 2
		}
	}
	return string(out), nil
}
