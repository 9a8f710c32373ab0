//! Sparklines for time series: a bounded ring of recent values and a one-row
//! sparkline drawn in a theme role.

use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::widgets::Sparkline;
use ratatui::Frame;
use std::collections::VecDeque;

/// The last `cap` values of one figure.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    values: VecDeque<f64>,
    cap: usize,
}

impl Series {
    pub fn new(cap: usize) -> Series {
        Series {
            values: VecDeque::with_capacity(cap),
            cap: cap.max(1),
        }
    }

    pub fn push(&mut self, v: f64) {
        if !v.is_finite() {
            return;
        }
        if self.values.len() == self.cap {
            self.values.pop_front();
        }
        self.values.push_back(v);
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    pub fn last(&self) -> Option<f64> {
        self.values.back().copied()
    }

    /// The newest `width` values scaled to 13..=100 between the series' min
    /// and max: the minimum still draws the lowest bar (1/8 of a cell), and a
    /// flat series draws as a low line, not as nothing.
    pub fn scaled(&self, width: usize) -> Vec<u64> {
        let skip = self.values.len().saturating_sub(width);
        let shown: Vec<f64> = self.values.iter().skip(skip).copied().collect();
        let (lo, hi) = shown
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(*v), hi.max(*v))
            });
        shown
            .iter()
            .map(|v| {
                if (hi - lo).abs() < f64::EPSILON {
                    13
                } else {
                    (13.0 + 87.0 * (v - lo) / (hi - lo)).round() as u64
                }
            })
            .collect()
    }

    pub fn render(&self, frame: &mut Frame, area: Rect, style: Style) {
        let data = self.scaled(usize::from(area.width));
        frame.render_widget(Sparkline::default().data(&data).max(100).style(style), area);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_scaled() {
        let mut s = Series::new(3);
        for v in [1.0, 2.0, 3.0, 4.0, f64::NAN] {
            s.push(v);
        }
        assert_eq!(s.len(), 3);
        assert_eq!(s.last(), Some(4.0));
        assert_eq!(s.scaled(10), vec![13, 57, 100]);
        assert_eq!(s.scaled(2), vec![13, 100]);
        let mut flat = Series::new(4);
        flat.push(7.0);
        flat.push(7.0);
        assert_eq!(flat.scaled(4), vec![13, 13]);
    }
}
