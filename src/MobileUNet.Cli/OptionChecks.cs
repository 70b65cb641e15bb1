using Spectre.Console;

namespace MobileUNet.Cli;

/// <summary>Turns the library's option checks (<see cref="Platform.Limits"/>, <see cref="Model.ModelSpec.InputSizeError"/>) into Spectre's validation result: the first error wins.</summary>
public static class OptionChecks
{
    public static ValidationResult Result(params string?[] errors) =>
        errors.FirstOrDefault(e => e is not null) is { } error ? ValidationResult.Error(error) : ValidationResult.Success();

    public static ValidationResult Then(this ValidationResult first, params string?[] errors) =>
        first.Successful ? Result(errors) : first;

    /// <summary>Exactly <paramref name="count"/> finite numbers, comma separated, invariant culture ("0.9,1.6").</summary>
    public static bool TryNumbers(string text, int count, out double[] values)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        values = new double[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!double.TryParse(parts[i], System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out values[i])
                || !double.IsFinite(values[i])) return false;
        return parts.Length == count;
    }

    /// <summary>
    /// The training schedule's flags, checked up front: <see cref="Training.TrainOptions.Validate"/> checks the
    /// same bounds but names its properties, not these flags.
    /// </summary>
    public static string?[] Schedule(int epochs, int steps, int batch, double learningRate, int? threads) =>
    [
        Platform.Limits.RangeError("--epochs", epochs, 1, Platform.Limits.MaxEpochs),
        Platform.Limits.RangeError("--steps", steps, 1, Platform.Limits.MaxSteps),
        Platform.Limits.RangeError("--batch", batch, 1, Platform.Limits.MaxBatch),
        Platform.Limits.PositiveError("--lr", learningRate),
        Platform.Limits.ThreadsError(threads, "--threads"),
    ];
}
