using Microsoft.ML;
using Microsoft.ML.Data;

namespace Lmu.MLNet.Samples.Soak;

/// <summary>
/// A PredictionEngine shared by threads, as the shared-engine soak and tests drive it. The library's overlap check
/// guards its own getters; ML.NET copies each output into the caller's object after the getter returns, through a
/// buffer the engine keeps for every call, and a second thread there failed inside ML.NET ("Destination is too short",
/// 4 of 40 soak runs on the 2-core VM with two busy processes) whenever the caller's array had another length than the
/// output. Callers that pass an output object whose arrays already have the output's length (<see cref="Sized"/>)
/// never meet that: the misuse may then mix two calls' outputs, but any exception other than the check's refusal is
/// the library's, a failure. Telling ML.NET's exception apart by its frames did not hold: dynamic PGO inlined them
/// into the caller.
/// </summary>
internal static class SharedEngineOutcome
{
    /// <summary>Whether <paramref name="e"/> is the library's refusal of an overlapping call.</summary>
    public static bool IsOverlapRefusal(Exception e) =>
        e is InvalidOperationException && e.Message.Contains("called from two threads at once", StringComparison.Ordinal);

    /// <summary>The length of <paramref name="engine"/>'s vector output <paramref name="column"/>, to size an output object's array.</summary>
    public static int Sized<TSrc, TDst>(PredictionEngine<TSrc, TDst> engine, string column)
        where TSrc : class
        where TDst : class, new() =>
        ((VectorDataViewType)engine.OutputSchema[column].Type).Size;
}
