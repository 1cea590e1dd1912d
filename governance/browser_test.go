package governance_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/cxlake/cxlake/internal/headless"
)

// TestExportPageInHeadlessChromium renders the access export page at
// 900 px in headless Chromium: no error, no policy violation, nothing
// wider than the viewport, and a message's markup stays text. Skipped
// when chromium is absent, but not in CI (CI=true).
func TestExportPageInHeadlessChromium(t *testing.T) {
	var page bytes.Buffer
	if err := pageExport().WriteHTML(&page); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(page.String(), `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'"/>`) {
		t.Fatal("the page lost its policy")
	}
	got := headless.Render(t, page.Bytes(), 900)
	if got.Width < 800 || got.Width > 900 || got.PageWidth > got.Width || len(got.Wide) > 0 || len(got.Errors) > 0 || got.Title != "The personal data we hold about you" {
		t.Errorf("at %d px (page %d px): wider than the viewport %v, errors %v, title %q", got.Width, got.PageWidth, got.Wide, got.Errors, got.Title)
	}
	if !strings.Contains(got.Text, "<script>document.title") {
		t.Errorf("the message's markup is not shown as text:\n%.3000s", got.Text)
	}
}
