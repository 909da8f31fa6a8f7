using System.Runtime.CompilerServices;

namespace Lmu.MLNet.Tests;

/// <summary>
/// Upper bounds that fail on NaN: <c>Bound.Below(tolerance, error)</c> instead of MSTest's <c>Assert.IsLessThan</c>,
/// <c>Bound.AtMost</c> instead of <c>Assert.IsLessThanOrEqualTo</c> (both banned in the test projects,
/// build/BannedSymbols.Tests.txt).
/// </summary>
/// <remarks>
/// Why: MSTest compares through <see cref="IComparable{T}"/>, where NaN sorts below every number, so an error bound
/// checked on a NaN error passes. Found on 2026-12-06, when a deliberately broken Adam kernel that turned weights into
/// NaN passed the optimizer's float32 comparisons, which take the largest absolute difference (NaN once any is NaN).
/// </remarks>
internal static class Bound
{
    /// <summary>Asserts <paramref name="value"/> &lt; <paramref name="upperBound"/>, and that neither is NaN.</summary>
    public static void Below<T>(T upperBound, T value, string message = "",
        [CallerArgumentExpression(nameof(upperBound))] string upperBoundExpression = "",
        [CallerArgumentExpression(nameof(value))] string valueExpression = "")
        where T : IComparable<T>
    {
        RejectNaN(upperBound, value, message, upperBoundExpression, valueExpression);
#pragma warning disable RS0030 // the one place that calls it, after the NaN check
        Assert.IsLessThan(upperBound, value, message, upperBoundExpression, valueExpression);
#pragma warning restore RS0030
    }

    /// <summary>Asserts <paramref name="value"/> &lt;= <paramref name="upperBound"/>, and that neither is NaN.</summary>
    public static void AtMost<T>(T upperBound, T value, string message = "",
        [CallerArgumentExpression(nameof(upperBound))] string upperBoundExpression = "",
        [CallerArgumentExpression(nameof(value))] string valueExpression = "")
        where T : IComparable<T>
    {
        RejectNaN(upperBound, value, message, upperBoundExpression, valueExpression);
#pragma warning disable RS0030 // the one place that calls it, after the NaN check
        Assert.IsLessThanOrEqualTo(upperBound, value, message, upperBoundExpression, valueExpression);
#pragma warning restore RS0030
    }

    private static void RejectNaN<T>(T upperBound, T value, string message, string upperBoundExpression, string valueExpression)
    {
        if (IsNaN(value)) Assert.Fail($"{valueExpression} is NaN (bound {upperBoundExpression}). {message}");
        if (IsNaN(upperBound)) Assert.Fail($"the bound {upperBoundExpression} is NaN ({valueExpression} = {value}). {message}");
    }

    private static bool IsNaN<T>(T v) => v switch
    {
        double d => double.IsNaN(d),
        float f => float.IsNaN(f),
        Half h => Half.IsNaN(h),
        _ => false,
    };
}
