namespace MobileUNet.Cli;

/// <summary>The model a command runs when none is named: the shipped person model.</summary>
public static class ModelChoice
{
    public const string Default = "person";
}
