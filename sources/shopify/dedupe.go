package shopify

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/sirupsen/logrus"
)

// legacyWindowFile is where the plugin kept its window of delivered
// webhook ids (bbolt, in state_dir) before the host took it over
// (plugins.WebhookDedupe, in data_dir/state.db).
//
// Its ids are not imported. A Shopify delivery that was answered 2xx is
// not retried, so its id matters only against Shopify's rare second
// send, and that copy, if it passes the host's fresh window, is the same
// event (its id derives from X-Shopify-Webhook-Id): the chain's guard
// drops it for transforms.dedupe_window (168h), longer than the window
// the file held (dedupe_window, 24h by default).
const legacyWindowFile = "webhooks.db"

// removeLegacyWindow deletes an older tajo's webhooks.db, once: nothing
// reads it any more.
func removeLegacyWindow(stateDir string, log *logrus.Logger) {
	if stateDir == "" {
		return
	}
	path := filepath.Join(stateDir, legacyWindowFile)
	switch err := os.Remove(path); {
	case err == nil:
		log.WithField("path", path).Info("removed the old webhook dedupe window: the host keeps it in state.db now")
	case !errors.Is(err, fs.ErrNotExist):
		log.WithError(err).WithField("path", path).Warn("could not remove the old webhook dedupe window (no longer used)")
	}
}
