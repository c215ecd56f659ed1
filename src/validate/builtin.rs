//! The checks `collate` makes of every return whatever its schema says, each with the id that its
//! exceptions carry into reports, the store and the exceptions workbook (the schema's own rules carry the
//! ids `rules.toml` gives them).

/// One of `collate`'s own checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BuiltinCheck {
    // The file itself.
    UnsupportedFile,
    UnreadableFile,
    UnreadableWorkbook,
    UnsafeWorkbook,
    // Which return it is.
    UnknownTemplate,
    TemplateVersion,
    WrongTemplate,
    UnknownDepartment,
    UnreadablePeriod,
    CoverPeriodMismatch,
    HiddenSheet,
    // The figures and the analysis.
    TemplateLayout,
    Required,
    FieldType,
    FigureType,
    FigureRange,
    FormulaNotCalculated,
    NotApplicable,
    TextTooLong,
    AnalysisMissing,
    // Action plan updates.
    SectionMissing,
    StatusWithoutMeasure,
    UnknownRef,
    NotOwner,
    DuplicateRef,
    UnreadableDate,
    UnreadableCompletion,
    FutureStatus,
    UnknownStatus,
    StatusMissing,
}

impl BuiltinCheck {
    /// Every built-in check, for the schema to keep its own rule ids apart from them.
    pub const ALL: [BuiltinCheck; 30] = {
        use BuiltinCheck::*;
        [
            UnsupportedFile,
            UnreadableFile,
            UnreadableWorkbook,
            UnsafeWorkbook,
            UnknownTemplate,
            TemplateVersion,
            WrongTemplate,
            UnknownDepartment,
            UnreadablePeriod,
            CoverPeriodMismatch,
            HiddenSheet,
            TemplateLayout,
            Required,
            FieldType,
            FigureType,
            FigureRange,
            FormulaNotCalculated,
            NotApplicable,
            TextTooLong,
            AnalysisMissing,
            SectionMissing,
            StatusWithoutMeasure,
            UnknownRef,
            NotOwner,
            DuplicateRef,
            UnreadableDate,
            UnreadableCompletion,
            FutureStatus,
            UnknownStatus,
            StatusMissing,
        ]
    };

    /// The id exceptions of this check carry.
    pub const fn id(self) -> &'static str {
        use BuiltinCheck::*;
        match self {
            UnsupportedFile => "unsupported-file",
            UnreadableFile => "unreadable-file",
            UnreadableWorkbook => "unreadable-workbook",
            UnsafeWorkbook => "unsafe-workbook",
            UnknownTemplate => "unknown-template",
            TemplateVersion => "template-version",
            WrongTemplate => "wrong-template",
            UnknownDepartment => "unknown-department",
            UnreadablePeriod => "unreadable-period",
            CoverPeriodMismatch => "cover-period-mismatch",
            HiddenSheet => "hidden-sheet",
            TemplateLayout => "template-layout",
            Required => "required",
            FieldType => "field-type",
            FigureType => "figure-type",
            FigureRange => "figure-range",
            FormulaNotCalculated => "formula-not-calculated",
            NotApplicable => "not-applicable",
            TextTooLong => "text-too-long",
            AnalysisMissing => "analysis-missing",
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
        }
    }

    /// The built-in check with this id, if it is one.
    pub fn from_id(id: &str) -> Option<BuiltinCheck> {
        BuiltinCheck::ALL.into_iter().find(|check| check.id() == id)
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
        for check in BuiltinCheck::ALL {
            assert_eq!(BuiltinCheck::from_id(check.id()), Some(check));
        }
    }
}
