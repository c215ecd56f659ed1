//! The checks `collate` makes of every return whatever its schema says, each with the id that its
//! exceptions carry into reports, the store and the exceptions workbook (the schema's own rules carry the
//! ids `rules.toml` gives them).

/// Declares the checks once: the enum, the list of them all, and each one's id.
macro_rules! builtin_checks {
    ($($(#[$doc:meta])* $check:ident => $id:literal,)*) => {
        /// One of `collate`'s own checks.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum BuiltinCheck {
            $($(#[$doc])* $check,)*
        }

        impl BuiltinCheck {
            /// Every built-in check.
            pub const ALL: &[BuiltinCheck] = &[$(BuiltinCheck::$check,)*];

            /// The id exceptions of this check carry.
            pub const fn id(self) -> &'static str {
                match self {
                    $(BuiltinCheck::$check => $id,)*
                }
            }
        }
    };
}

builtin_checks! {
    // The file itself.
    UnsupportedFile => "unsupported-file",
    UnreadableFile => "unreadable-file",
    UnreadableWorkbook => "unreadable-workbook",
    UnsafeWorkbook => "unsafe-workbook",
    // Which return it is.
    UnknownTemplate => "unknown-template",
    CoverTemplateMissing => "cover-template-missing",
    TemplateVersion => "template-version",
    WrongTemplate => "wrong-template",
    UnknownDepartment => "unknown-department",
    UnreadablePeriod => "unreadable-period",
    CoverPeriodMismatch => "cover-period-mismatch",
    HiddenSheet => "hidden-sheet",
    SenderNotAContact => "sender-not-a-contact",
    RestatedFigure => "restated-figure",
    FarCoverPeriod => "far-cover-period",
    FutureCoverPeriod => "future-cover-period",
    // The figures and the analysis.
    TemplateLayout => "template-layout",
    RowFoundByName => "row-found-by-name",
    Required => "required",
    FieldType => "field-type",
    FigureType => "figure-type",
    FigureRange => "figure-range",
    FormulaNotCalculated => "formula-not-calculated",
    TotalNotCalculated => "total-not-calculated",
    NotApplicable => "not-applicable",
    TextTooLong => "text-too-long",
    AnalysisMissing => "analysis-missing",
    // Action plan updates.
    SectionMissing => "section-missing",
    StatusWithoutMeasure => "status-without-measure",
    UnknownRef => "unknown-ref",
    NotOwner => "not-owner",
    DuplicateRef => "duplicate-ref",
    UnreadableDate => "unreadable-date",
    UnreadableCompletion => "unreadable-completion",
    FutureStatus => "future-status",
    UnknownStatus => "unknown-status",
    StatusMissing => "status-missing",
    // What `collate` itself could not do with a return.
    ReportNotWritten => "report-not-written",
}

impl BuiltinCheck {
    /// The built-in check with this id, if it is one.
    pub fn from_id(id: &str) -> Option<BuiltinCheck> {
        BuiltinCheck::ALL
            .iter()
            .copied()
            .find(|check| check.id() == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_check_has_its_own_id() {
        let mut ids: Vec<&str> = BuiltinCheck::ALL.iter().map(|c| c.id()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), BuiltinCheck::ALL.len());
        for &check in BuiltinCheck::ALL {
            assert_eq!(BuiltinCheck::from_id(check.id()), Some(check));
        }
    }
}
