using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace MobileUNet.Cli;

/// <summary>
/// Spectre's help, except that a branch which runs a default command (`bench`, beside `bench merge` and
/// `bench report`) lists that command's arguments and options: Spectre's own help shows only the branch's settings
/// there (just -h), so `bench --help` hid every bench option.
/// </summary>
public sealed class BranchHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    public override IEnumerable<IRenderable> GetArguments(ICommandModel model, ICommandInfo? command) =>
        base.GetArguments(model, DefaultOf(command));

    public override IEnumerable<IRenderable> GetOptions(ICommandModel model, ICommandInfo? command) =>
        base.GetOptions(model, DefaultOf(command));

    static ICommandInfo? DefaultOf(ICommandInfo? command) =>
        command is { IsBranch: true, DefaultCommand: { } runs } ? runs : command;
}
