"""Pure DataFrame -> DataFrame transforms and Column -> Column helpers; schemas as constants."""
