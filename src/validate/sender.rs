//! Whether a return that came by email was sent by one of the contacts its department lists in
//! `departments.toml`: if not, a query naming both (an error where the schema says so).

use super::{BuiltinCheck, Validated};
use crate::exception::Exception;
use crate::read::message::MessageProvenance;
use crate::schema::Schemas;

/// Adds the exception when the return's sender is not a contact of its department. A return saved as a
/// file, one that could not be identified, or a department that names no contacts, is left as it is.
pub fn check_sender(schemas: &Schemas, validated: &mut Validated, message: &MessageProvenance) {
    let Some(department) = validated.department().and_then(|id| schemas.department(id)) else {
        return;
    };
    if department.is_contact(&message.sender_address) {
        return;
    }
    let sender = match message.sender_address.as_str() {
        "" => "no sender address".to_owned(),
        address => address.to_owned(),
    };
    let exception = Exception {
        file: format!("{} › {}", message.email_file, message.attachment),
        sheet: String::new(),
        cell: String::new(),
        value_found: sender.clone(),
        rule_id: BuiltinCheck::SenderNotAContact.id().to_owned(),
        severity: department.sender_not_a_contact,
        message: format!(
            "the return for {} was emailed by {sender}, who is not one of its contacts ({})",
            department.name,
            department.contacts.join(", ")
        ),
        guidance: format!(
            "{}Check with {} that this return is theirs; add the sender to its contacts in departments.toml if they may send it.",
            match schemas.dashboard.mail.reply_to_other_senders {
                true => "",
                false => "No reply is drafted to the sender. ",
            },
            department.name
        ),
    };
    validated.push_exception(exception);
}
