using Spectre.Console;

namespace MobileUNet.Cli;

/// <summary>Turns the library's option checks (<see cref="Platform.Limits"/>, <see cref="Model.ModelSpec.InputSizeError"/>) into Spectre's validation result: the first error wins.</summary>
public static class OptionChecks
{
    public static ValidationResult Result(params string?[] errors) =>
        errors.FirstOrDefault(e => e is not null) is { } error ? ValidationResult.Error(error) : ValidationResult.Success();

    public static ValidationResult Then(this ValidationResult first, params string?[] errors) =>
        first.Successful ? Result(errors) : first;
}
