//! `collate send`: sends the drafts in the outbox (replies, reminders) through the SMTP server that
//! `dashboard.toml` names, each once. Without that setting nothing is ever sent.

use clap::Args;

use super::{Locations, exit};
use crate::schema;
use crate::send::{already_sent, deliver, drafts, record_sent, transport};

#[derive(Debug, Args)]
pub struct SendArgs {}

pub fn send(locations: &Locations, _args: &SendArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let mail = &schemas.dashboard.mail;
    let (Some(smtp), Some(from)) = (&mail.smtp, &mail.from) else {
        anyhow::bail!(
            "nothing was sent: dashboard.toml names no mail server ([mail] from and [mail.smtp]); the drafts stay in the outbox to send from your own mail program"
        );
    };
    let folders = locations.folders();
    let sent_before = already_sent(&folders.store)?;
    let transport = transport(smtp)?;
    let (mut sent, mut failed) = (0, 0);
    for draft in drafts(&folders.outbox)? {
        if sent_before.contains(&draft.sha256) {
            continue;
        }
        let name = draft.path.display();
        match deliver(&transport, from, &draft) {
            Ok(recipients) => {
                record_sent(&folders.store, &draft, &recipients)?;
                println!("sent {name} to {}", recipients.join(", "));
                sent += 1;
            }
            Err(reason) => {
                println!("not sent: {name}: {reason}");
                failed += 1;
            }
        }
    }
    println!("{sent} sent, {failed} not sent");
    Ok(if failed > 0 {
        exit::SOME_REJECTED
    } else {
        exit::ACCEPTED
    })
}
