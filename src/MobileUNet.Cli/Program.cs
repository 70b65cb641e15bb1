using MobileUNet.Cli;
using Spectre.Console;

// Piped output (CI logs, files) gets full-width tables instead of Spectre's 80-column default.
if (Console.IsOutputRedirected) AnsiConsole.Profile.Width = 200;

// Before libtorch loads: its OpenMP threads must not spin on a shared machine (see TorchBackends).
MobileUNet.Platform.TorchBackends.PreferPassiveOpenMpWait();

return CliErrors.Run(CliApp.Create(), args);
