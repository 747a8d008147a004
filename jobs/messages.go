package jobs

import (
	"context"
	"time"

	"orderdesk/model"
	"orderdesk/services/messaging"
)

// SendMessagesName is the name of the customer messages' sender.
const SendMessagesName = "send-messages"

// SendMessagesInterval is how often a shop's due messages go out. Ten
// seconds: a customer who just paid hears of it while still looking at the
// shop, and a run with nothing due costs one indexed read per shop. A failed
// message waits its own backoff (model.MessageRetryDelay), not this.
const SendMessagesInterval = 10 * time.Second

// SendMessages sends the shop's due customer messages (WhatsApp first,
// e-mail second), tries failed ones again with backoff, turns one that keeps
// failing into a dead letter, and settles the tries a stopped server left
// unfinished. The job's lease keeps a shop's runs from overlapping, which
// the settling relies on.
func SendMessages(msg *messaging.Service) *Job {
	return &Job{
		Name:     SendMessagesName,
		Interval: SendMessagesInterval,
		Run: func(ctx context.Context, t *model.Tenant, run *Run) error {
			sent, failed, err := msg.SendDue(ctx, t, run)
			run.Processed += sent
			run.Failed += failed
			return err
		},
	}
}
