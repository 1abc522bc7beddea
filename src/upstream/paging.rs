//! Reading a 0-based `offset`/`limit` window from an API that pages by
//! number (`page` from 1, `page_size`): Closient and Violet.

use std::ops::RangeInclusive;

/// Which pages of which size cover a window, with as few calls as possible.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PagePlan {
    /// Page size to ask for.
    pub page_size: u64,
    /// First page to read, 1-based.
    pub first_page: u64,
    /// Last page to read, 1-based, inclusive.
    pub last_page: u64,
    /// Items to drop from the start of the first page.
    pub skip: u64,
}

impl PagePlan {
    /// The plan for `limit` items from `offset` with pages of at most
    /// `max_page_size`: one page of the smallest size (at least `limit`)
    /// that holds the whole window; else two pages of `limit`; windows
    /// longer than a page read pages of `max_page_size`. `limit == 0` reads
    /// one item, so that the total is still known.
    pub(crate) fn new(offset: u64, limit: u32, max_page_size: u32) -> Self {
        let max = u64::from(max_page_size.max(1));
        let limit = u64::from(limit.max(1));
        let last = offset.saturating_add(limit - 1);
        let page_size = if limit <= max {
            (limit..=max)
                .find(|&size| offset / size == last / size)
                .unwrap_or(limit)
        } else {
            max
        };
        PagePlan {
            page_size,
            first_page: (offset / page_size).saturating_add(1),
            last_page: (last / page_size).saturating_add(1),
            skip: offset % page_size,
        }
    }

    /// The pages to read, in order.
    pub(crate) fn pages(&self) -> RangeInclusive<u64> {
        self.first_page..=self.last_page
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(offset: u64, limit: u32) -> (u64, u64, u64, u64) {
        let p = PagePlan::new(offset, limit, 100);
        (p.page_size, p.first_page, p.last_page, p.skip)
    }

    #[test]
    fn one_page_when_a_page_can_hold_the_window() {
        assert_eq!(plan(0, 25), (25, 1, 1, 0));
        assert_eq!(plan(100, 100), (100, 2, 2, 0));
        assert_eq!(plan(40, 20), (20, 3, 3, 0));
        // Not aligned, but one larger page holds the window.
        assert_eq!(plan(5, 10), (15, 1, 1, 5));
        assert_eq!(plan(90, 20), (22, 5, 5, 2));
        assert_eq!(plan(99, 2), (3, 34, 34, 0));
    }

    #[test]
    fn two_pages_when_none_can_and_pages_of_the_maximum_above_it() {
        // No page size up to 100 holds 95..195: two pages of 100.
        assert_eq!(plan(95, 100), (100, 1, 2, 95));
        assert_eq!(plan(50, 100), (100, 1, 2, 50));
        assert_eq!(plan(250, 150), (100, 3, 4, 50));
        assert_eq!(plan(150, 250), (100, 2, 4, 50));
    }

    #[test]
    fn zero_limit_reads_one_item_and_huge_offsets_do_not_overflow() {
        assert_eq!(plan(7, 0), (1, 8, 8, 0));
        let p = PagePlan::new(u64::MAX, 1, 100);
        assert_eq!(p.pages().count(), 1);
    }

    #[test]
    fn every_window_is_covered_within_the_page_limit() {
        for offset in 0..300 {
            for limit in [1, 2, 3, 10, 33, 50, 99, 100, 101, 250] {
                let p = PagePlan::new(offset, limit, 100);
                let start = (p.first_page - 1) * p.page_size;
                let end = p.last_page * p.page_size;
                assert!(start + p.skip == offset && end >= offset + u64::from(limit));
                assert!(p.page_size <= 100);
                if limit <= 100 {
                    assert!(p.last_page - p.first_page < 2, "{offset}/{limit}: {p:?}");
                }
            }
        }
    }
}
