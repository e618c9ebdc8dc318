*** Comments ***
Boot and management-plane checks of the theraloop firmware on Renode's STM32F4-Discovery,
the same checks as the QEMU system tests (tests/system/test_qemu_smp.py, test_qemu_reset.py).
Not run in CI (Renode is not installable from our package registries). To run:
    make firmware
    . .venv/bin/activate && pip install robotframework
    renode-test sim/renode/theraloop.robot

*** Settings ***
Library             ${CURDIR}/theraloop_keywords.py
Test Setup          Create Theraloop Machine
Test Teardown       Reset Emulation

*** Variables ***
${ELF}              ${CURDIR}/../../build/stm32f4/firmware/boards/stm32f4/theraloop.elf
${CLI_PORT}         3460
${AFE_PORT}         3461
${STIM_PORT}        3462

*** Keywords ***
Create Theraloop Machine
    Execute Command    $elf=@${ELF}
    Execute Command    $cli_port=${CLI_PORT}
    Execute Command    $afe_port=${AFE_PORT}
    Execute Command    $stim_port=${STIM_PORT}
    Execute Command    include @${CURDIR}/theraloop.resc
    Create Terminal Tester    sysbus.usart1    timeout=10

*** Test Cases ***
Boots And Prints Its Banner
    Start Emulation
    Wait For Line On Uart    theraloop 0.1.0 board=stm32f4 reset=power_on

Answers Info Over SMP
    Start Emulation
    Wait For Line On Uart    board=stm32f4
    ${info}=    Device Info    ${CLI_PORT}
    Should Be Equal    ${info}[board]    stm32f4
    Should Be Equal    ${info}[reset_reason]    power_on
    Should Be Equal    ${info}[fault]    ${None}
    Should Match Regexp    ${info}[version]    ^\\d+\\.\\d+\\.\\d+$

Echoes One Kilobyte Over Several Frames
    Start Emulation
    Wait For Line On Uart    board=stm32f4
    ${text}=    Evaluate    "theraloop-" * 102 + "abcd"
    ${answer}=    Device Echo    ${CLI_PORT}    ${text}
    Should Be Equal    ${answer}    ${text}

Runs Adaptive Therapy In Closed Loop Over The AFE And Stimulator USARTs
    Start Emulation
    Wait For Line On Uart    board=stm32f4
    ${run}=    Run Closed Loop Session    ${CLI_PORT}    ${AFE_PORT}    ${STIM_PORT}    seconds=10
    Should Be True    ${run}[steps] >= 400
    Should Be True    ${run}[max_applied_ua] <= ${run}[amplitude_max_ua]
    ${info}=    Device Info    ${CLI_PORT}
    Should Be Equal    ${info}[reset_reason]    power_on

Resets On Request And Reports A Software Reset
    Start Emulation
    Wait For Line On Uart    board=stm32f4
    ${info}=    Reset Device And Wait    ${CLI_PORT}
    Should Be Equal    ${info}[reset_reason]    software
