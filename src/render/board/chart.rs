//! An indicator's chart as a PNG picture for the board paper: bars with their values and labels, drawn
//! by plotters in a font `collate` carries (Liberation Sans, SIL Open Font License), so the picture is
//! the same on every machine.

use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// A bar chart: one bar per label, never empty (the paper leaves out a chart with nothing to plot).
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub bars: Vec<(String, f64)>,
}

/// The picture's size in pixels: 16 × 6 cm at 150 dots an inch.
pub const WIDTH: u32 = 945;
pub const HEIGHT: u32 = 354;

const FONT: &[u8] = include_bytes!("../../../assets/fonts/LiberationSans-Regular.ttf");
const FAMILY: &str = "sans-serif";

static REGISTER_FONT: Once = Once::new();

fn register_font() {
    REGISTER_FONT.call_once(|| {
        // The font is part of the program; it either parses or the build is broken, and a chart drawn
        // without it is caught below as a drawing error.
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The chart as PNG bytes, or why it could not be drawn.
pub fn bar_chart_png(chart: &BarChart) -> Result<Vec<u8>, String> {
    register_font();
    let mut pixels = vec![255u8; (WIDTH * HEIGHT * 3) as usize];
    draw(chart, &mut pixels).map_err(|e| format!("the chart could not be drawn: {e}"))?;
    let mut png = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| e.to_string())?;
    }
    Ok(png)
}

fn draw(chart: &BarChart, pixels: &mut [u8]) -> Result<(), String> {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    // An integer range is inclusive as a coordinate: 0..n-1 has n segments, one per bar.
    let last = chart.bars.len().saturating_sub(1) as u32;
    let highest = chart.bars.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let top = if highest > 0.0 { highest * 1.2 } else { 1.0 };
    let mut plot = ChartBuilder::on(&root)
        .margin(12)
        .x_label_area_size(36)
        .y_label_area_size(56)
        .build_cartesian_2d((0..last).into_segmented(), 0.0..top)
        .map_err(|e| e.to_string())?;
    let labels: Vec<&str> = chart.bars.iter().map(|(label, _)| label.as_str()).collect();
    plot.configure_mesh()
        .disable_x_mesh()
        .bold_line_style(RGBColor(220, 220, 220))
        .light_line_style(TRANSPARENT)
        .y_labels(5)
        .y_label_formatter(&|v| super::number(*v))
        .x_labels(labels.len())
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => labels.get(*i as usize).copied().unwrap_or("").to_owned(),
            _ => String::new(),
        })
        .label_style((FAMILY, 18))
        .axis_style(RGBColor(89, 89, 89))
        .draw()
        .map_err(|e| e.to_string())?;
    let bar = RGBColor(31, 78, 121);
    plot.draw_series(chart.bars.iter().enumerate().map(|(i, (_, value))| {
        let i = i as u32;
        let mut rect = Rectangle::new(
            [
                (SegmentValue::Exact(i), 0.0),
                (SegmentValue::Exact(i + 1), *value),
            ],
            bar.filled(),
        );
        rect.set_margin(0, 0, 18, 18);
        rect
    }))
    .map_err(|e| e.to_string())?;
    plot.draw_series(chart.bars.iter().enumerate().map(|(i, (_, value))| {
        Text::new(
            super::number(*value),
            (SegmentValue::CenterOf(i as u32), *value + top * 0.01),
            (FAMILY, 18)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(HPos::Center, VPos::Bottom)),
        )
    }))
    .map_err(|e| e.to_string())?;
    root.present().map_err(|e| e.to_string())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_is_the_same_picture_every_time_and_has_its_bars() {
        let chart = BarChart {
            title: "HR 1".into(),
            bars: vec![("2015/16".into(), 7.0), ("2016/17".into(), 13.0)],
        };
        let first = bar_chart_png(&chart).expect("drawn");
        assert_eq!(first, bar_chart_png(&chart).expect("drawn again"));
        assert!(first.starts_with(b"\x89PNG"));
        // A bar's colour is in the picture: the chart is not blank.
        let decoder = png::Decoder::new(std::io::Cursor::new(first));
        let mut reader = decoder.read_info().expect("png");
        let mut pixels = vec![0; reader.output_buffer_size().expect("size")];
        reader.next_frame(&mut pixels).expect("frame");
        assert!(pixels.chunks(3).any(|p| p == [31, 78, 121]));
    }
}
