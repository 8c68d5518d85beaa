"""Gold data marts behind the paid brand trend reports: one Delta table per mart, per brand and period."""
