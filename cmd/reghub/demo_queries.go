package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// demoQueries shows the query side: a social protection department asks
// about a person the load registered, once with a field its basis grants
// and once with one it does not; both land in the audit log.
func demoQueries(ctx context.Context, h *hub, base, token string) error {
	var rnokpp string
	err := h.pool.QueryRow(ctx, `SELECT rnokpp FROM registrations WHERE rnokpp IS NOT NULL AND registered ORDER BY updated_at DESC LIMIT 1`).Scan(&rnokpp)
	if err != nil {
		return fmt.Errorf("demo queries: find a registered person: %w", err)
	}
	fmt.Println("\nqueries (POST /v1/queries as the demo social protection department):")
	for _, fields := range []string{`["surname", "address", "registration_date"]`, `["surname", "contacts"]`} {
		body := fmt.Sprintf(`{"official": {"id": "SYN-OFF-0001", "name": "Демонстраційний працівник"}, "case": "DEMO/%d",
		  "basis": {"code": "social.services", "law": "Положення про Реєстр Криворізької міської територіальної громади",
		            "article": "підпункт 6.4.2.3 пункту 6.4"},
		  "purpose": {"id": "social-services", "text": "демонстрація"}, "search": {"rnokpp": %q}, "fields": %s}`,
			time.Now().UnixNano()%100000, rnokpp, fields)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/queries", bytes.NewReader([]byte(body)))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return fmt.Errorf("demo query: %w", err)
		}
		raw, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct {
			Status  any              `json:"status"`
			Reason  string           `json:"reason"`
			Detail  string           `json:"detail"`
			Records []map[string]any `json:"records"`
		}
		_ = json.Unmarshal(raw, &out)
		if resp.StatusCode == http.StatusOK {
			rec, _ := json.Marshal(out.Records)
			fmt.Printf("  fields %s → %d answered: %s\n", fields, resp.StatusCode, rec)
		} else {
			fmt.Printf("  fields %s → %d %s: %s\n", fields, resp.StatusCode, out.Reason, out.Detail)
		}
	}
	fmt.Println("  every query is in the audit log: reghub audit verify / audit subject rnokpp:" + rnokpp + " (with --data-dir)")
	return nil
}
