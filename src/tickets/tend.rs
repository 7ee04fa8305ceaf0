//! Tending the tickets: the writes that failed are recorded and made later, and the tickets that
//! close when their finding is archived are closed; `serve` and `watch` run both
//! (`Worker::tend_tickets`).

use super::{AWAITING_ARCHIVE_DIR, Desk, Subject, TicketError, TicketOp, UNWRITTEN_DIR, render};

impl Desk {
    /// Records ticket writes that failed after their retries, in the incident and in the list
    /// of writes still to make (`_incidents/_unwritten/`), so that none is lost.
    pub(super) async fn unwritten(&self, f: &Subject, ops: Vec<TicketOp>, err: &TicketError) {
        let message = crate::domain::scrub::scrub_text(&err.to_string());
        let what: Vec<&str> = ops
            .iter()
            .map(|o| match o {
                TicketOp::Open { .. } => "open",
                TicketOp::Comment { .. } => "comment",
                TicketOp::Close { .. } => "close",
                TicketOp::Reopen => "reopen",
            })
            .collect();
        let what = what.join(", ");
        crate::say!(
            "warning: ticket for finding {}: {what} not written yet (tried again later): {message}",
            f.finding_id
        );
        crate::log!("ticket_unwritten", finding_id = %f.finding_id, what = %what, error = %message);
        let mut e = self.entry(f, "unwritten");
        e.detail = Some(format!("{what}: {message}"));
        e.ops = ops;
        let record_name = format!("{}-unwritten.json", uuid::Uuid::now_v7());
        let list = self.pending(UNWRITTEN_DIR);
        let listed = list.add(&e);
        let written = self.put(f, &record_name, &e);
        let (listed, written) = tokio::join!(listed, written);
        if let Err(err) = listed.and(written) {
            crate::say!(
                "error: the incident record of finding {} could not be written: {err}",
                f.finding_id
            );
        }
    }

    /// Makes the ticket writes that failed before (`unwritten`), oldest first; one that fails
    /// again stays listed for the next time. Returns how many were made and how many are left.
    pub async fn retry_unwritten(&self) -> Result<(usize, usize), TicketError> {
        if self.tracker.is_none() {
            return Ok((0, 0));
        }
        let list = self.pending(UNWRITTEN_DIR);
        let (mut made, mut left) = (0, 0);
        for (stem, e) in list.open().await? {
            if e.ops.is_empty() {
                continue;
            }
            let f = Subject::from(&e);
            let mut ticket = self.read(&f).await?.ticket;
            let mut ok = true;
            for op in &e.ops {
                if let Err(err) = self.make(&f, &mut ticket, op).await {
                    crate::log!("ticket_still_unwritten", finding_id = %f.finding_id,
                        error = %crate::domain::scrub::scrub_text(&err.to_string()));
                    ok = false;
                    break;
                }
            }
            if ok {
                let mut d = self.entry(&f, "delivered");
                d.detail = Some(format!("{stem}.json"));
                list.done(&stem, &d).await?;
                crate::log!("ticket_written_later", finding_id = %f.finding_id);
                made += 1;
            } else {
                left += 1;
            }
        }
        Ok((made, left))
    }

    /// Closes the tickets of `close: on_archive` incidents whose finding GuardDuty now holds
    /// archived. Returns how many were closed and how many still wait.
    pub async fn close_archived(&self) -> Result<(usize, usize), TicketError> {
        let Some(status) = &self.findings else {
            return Ok((0, 0));
        };
        let list = self.pending(AWAITING_ARCHIVE_DIR);
        let (mut closed, mut waiting) = (0, 0);
        for (stem, e) in list.open().await? {
            let f = Subject::from(&e);
            // GuardDuty first: the incident's records are read only once its finding is
            // archived, not at every pass for every incident still waiting.
            match status.archived(&f.target()).await {
                Ok(true) => {}
                Ok(false) => {
                    waiting += 1;
                    continue;
                }
                Err(err) => {
                    crate::log!("archive_not_read", finding_id = %f.finding_id, error = %err);
                    waiting += 1;
                    continue;
                }
            }
            let inc = self.read(&f).await?;
            let Some(ticket) = inc.ticket.clone() else {
                // Opened, its ticket not written yet: the unwritten list makes it first.
                waiting += 1;
                continue;
            };
            if !inc.closed() {
                let ops = vec![
                    TicketOp::Comment {
                        body: render::archived(&f.finding_id),
                    },
                    TicketOp::Close {
                        detail: "on archive: the finding is archived in GuardDuty".into(),
                    },
                ];
                self.deliver(&f, Some(ticket), ops).await;
                closed += 1;
            }
            let mut d = self.entry(&f, "archive_seen");
            d.detail = Some(format!("{stem}.json"));
            list.done(&stem, &d).await?;
        }
        Ok((closed, waiting))
    }
}
