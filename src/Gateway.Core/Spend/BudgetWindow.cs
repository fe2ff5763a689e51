namespace Gateway.Core.Spend;

/// <summary>A budget's period: fixed windows in UTC.</summary>
internal enum BudgetPeriod
{
    /// <summary>1h: from the top of the hour.</summary>
    Hour,

    /// <summary>1d: from midnight UTC.</summary>
    Day,

    /// <summary>7d: from Monday 00:00 UTC.</summary>
    Week,

    /// <summary>30d: 30-day windows counted from the Unix epoch.</summary>
    ThirtyDays,

    /// <summary>month: the calendar month, UTC.</summary>
    Month,
}

/// <summary>Where a budget period starts and ends for a given instant: a pure function, table-tested.</summary>
internal static class BudgetWindow
{
    public static (DateTimeOffset Start, DateTimeOffset End) Of(BudgetPeriod period, DateTimeOffset now)
    {
        var utc = now.ToUniversalTime();
        var day = new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
        switch (period)
        {
            case BudgetPeriod.Hour:
                var hour = day.AddHours(utc.Hour);
                return (hour, hour.AddHours(1));
            case BudgetPeriod.Day:
                return (day, day.AddDays(1));
            case BudgetPeriod.Week:
                // DayOfWeek counts from Sunday; the week starts on Monday.
                var monday = day.AddDays(-(((int)utc.DayOfWeek + 6) % 7));
                return (monday, monday.AddDays(7));
            case BudgetPeriod.ThirtyDays:
                long days = (long)(day - DateTimeOffset.UnixEpoch).TotalDays;
                var start = DateTimeOffset.UnixEpoch.AddDays(days - (days % 30));
                return (start, start.AddDays(30));
            default:
                var month = new DateTimeOffset(utc.Year, utc.Month, 1, 0, 0, 0, TimeSpan.Zero);
                return (month, month.AddMonths(1));
        }
    }

    public static string Name(BudgetPeriod period) => period switch
    {
        BudgetPeriod.Hour => "1h",
        BudgetPeriod.Day => "1d",
        BudgetPeriod.Week => "7d",
        BudgetPeriod.ThirtyDays => "30d",
        _ => "month",
    };
}
