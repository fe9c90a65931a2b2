//! Local receivers for `watchkeep routes test`: real servers on loopback port 0 that speak the
//! PagerDuty Events API v2, Slack incoming-webhook, generic webhook and SMTP contracts, keep what
//! they received for tests to read, and can be told to fail.

mod http;
mod smtp;

pub use http::{HttpReceivers, Received, SlackBehaviour};
pub use smtp::{Mail, SmtpReceiver, SmtpReceiverOptions};
