//! `collate send`: sends the drafts in the outbox (replies, reminders) through the SMTP server that
//! `dashboard.toml` names, each once; `--dry-run` lists what would go, and sends nothing. Without a
//! server in `dashboard.toml` nothing is ever sent.

use clap::Args;

use super::{Locations, exit};
use crate::schema;
use crate::send::{Outgoing, SendingPlan, already_sent, deliver, drafts, record_sent, transport};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// List every message that would go (to, subject, attachment, why) and the drafts held back; send
    /// nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn send(locations: &Locations, args: &SendArgs) -> anyhow::Result<u8> {
    let schemas = schema::load(&locations.schemas())?;
    let folders = locations.folders();
    let plan = SendingPlan::of(drafts(&folders.outbox)?, &already_sent(&folders.store)?);
    let mail = &schemas.dashboard.mail;
    if args.dry_run {
        for outgoing in &plan.outgoing {
            println!("{}", would_send(outgoing));
        }
        for (draft, why) in &plan.held_back {
            println!("held back {}\n  why: {}", draft.path.display(), why.one());
        }
        let server = match &mail.smtp {
            Some(smtp) => format!("through {}:{}", smtp.host, smtp.port),
            None => {
                "nowhere: dashboard.toml names no mail server ([mail] and [mail.smtp])".to_owned()
            }
        };
        println!(
            "{} message(s) would be sent {server}; {}; nothing was sent",
            plan.outgoing.len(),
            plan.held_back_said()
        );
        return Ok(exit::ACCEPTED);
    }
    let (Some(smtp), Some(from)) = (&mail.smtp, &mail.from) else {
        anyhow::bail!(
            "nothing was sent: dashboard.toml names no mail server ([mail] from and [mail.smtp]); the drafts stay in the outbox to send from your own mail program"
        );
    };
    let sender = crate::draft::Mailbox {
        address: from.clone(),
        name: mail.from_name.clone(),
    };
    let transport = transport(smtp)?;
    let (mut sent, mut failed) = (0, 0);
    for outgoing in &plan.outgoing {
        let name = outgoing.draft.path.display();
        match deliver(&transport, &sender, outgoing) {
            Ok(()) => {
                record_sent(&folders.store, &outgoing.draft, &outgoing.message.to)?;
                println!("sent {name} to {}", outgoing.message.to.join(", "));
                sent += 1;
            }
            Err(reason) => {
                println!("not sent: {name}: {reason}");
                failed += 1;
            }
        }
    }
    println!("{sent} sent, {failed} not sent; {}", plan.held_back_said());
    Ok(if failed > 0 {
        exit::SOME_REJECTED
    } else {
        exit::ACCEPTED
    })
}

/// One message as `--dry-run` lists it.
fn would_send(outgoing: &Outgoing) -> String {
    let message = &outgoing.message;
    let attachment = (message.attachment.as_ref()).map_or("none", |a| a.name.as_str());
    format!(
        "would send {}\n  to: {}\n  subject: {}\n  attachment: {attachment}\n  why: {}",
        outgoing.draft.path.display(),
        message.to.join(", "),
        message.subject,
        outgoing.why
    )
}
